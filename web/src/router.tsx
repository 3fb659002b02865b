import { createBrowserRouter, Navigate } from 'react-router';
import { AppLayout } from './components/app-layout';
import { IntegrationPage } from './pages/integration-page';
import { IntegrationsPage } from './pages/integrations-page';
import { LoginPage } from './pages/login-page';
import { LogsPage } from './pages/logs-page';
import { NotFoundPage } from './pages/not-found-page';
import { QueryPage } from './pages/query-page';
import { SectionEditorPage } from './pages/section-editor-page';
import { SettingsPage } from './pages/settings-page';

/** The pages of the UI; every one but login sits in the app shell and needs a session. */
export const router = createBrowserRouter([
  { path: '/login', element: <LoginPage /> },
  {
    element: <AppLayout />,
    children: [
      { index: true, element: <Navigate to="/integrations" replace /> },
      { path: 'integrations', element: <IntegrationsPage /> },
      { path: 'integrations/:name', element: <IntegrationPage /> },
      { path: 'integrations/:name/sections/new', element: <SectionEditorPage /> },
      { path: 'integrations/:name/sections/:id', element: <SectionEditorPage /> },
      { path: 'integrations/:name/sections/:id/logs', element: <LogsPage /> },
      { path: 'data', element: <Navigate to="/data/metrics" replace /> },
      {
        // The charts (recharts) load with the data module only.
        path: 'data/:tab',
        lazy: async () => ({ Component: (await import('./pages/data-page')).DataPage }),
      },
      { path: 'query', element: <QueryPage /> },
      { path: 'settings', element: <SettingsPage /> },
      { path: '*', element: <NotFoundPage /> },
    ],
  },
]);
