// The script-tag bundle's JSX runtime: Preact's createElement, which the bundle has anyway,
// instead of preact/jsx-runtime's own vnode factory (a few hundred bytes and dev-only fields).
import { createElement, Fragment } from 'preact'

export function jsx(type, props, key) {
  if (key !== undefined) props.key = key
  return createElement(type, props)
}
export { Fragment, jsx as jsxs }
