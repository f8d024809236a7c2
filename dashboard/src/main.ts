import { mount } from 'svelte'
import './app.css'
import App from './App.svelte'
import { createDashboard, dashboardContext } from './lib/dashboard.js'
import { routes } from './routes.js'

const dashboard = createDashboard(routes)
mount(App, { target: document.getElementById('app')!, context: dashboardContext(dashboard) })
