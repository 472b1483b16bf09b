import './zod-config.js'
import { render } from 'preact'
import { App } from './components/App.js'

const root = document.getElementById('app')
if (root) render(<App />, root)
