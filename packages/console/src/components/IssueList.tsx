import type { Issue } from '../api.js'

/** Problems in a bot, each one a button that takes the cursor to its block. */
export function IssueList({
  issues,
  onPick,
  id,
}: {
  issues: Issue[]
  onPick: (issue: Issue) => void
  id?: string
}) {
  return (
    <ul class="issues" id={id}>
      {issues.map((issue, index) => (
        <li key={`${index}:${issue.message}`}>
          <button type="button" class="issue" onClick={() => onPick(issue)}>
            {issue.message}
          </button>
        </li>
      ))}
    </ul>
  )
}
