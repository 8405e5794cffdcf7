import { render } from 'preact'
import { App } from './app.js'
import { restoreSession } from './state/session.js'
import './styles.css'

restoreSession()
const root = document.getElementById('app')
if (root) {
  root.textContent = ''
  render(<App />, root)
}
// For the browser test: when the first view became interactive, measured by the page itself.
;(window as { __roostDashboardReadyMs?: number }).__roostDashboardReadyMs = performance.now()
