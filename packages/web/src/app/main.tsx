// The page-wide styles first: every component's own stylesheet (imported beside it) comes after them.
import './styles/tokens.css';
import './styles/base.css';
import './styles/buttons.css';
import './styles/motion.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { JobBoard } from '../features/jobs/components/job-board';
import { LiveAnnouncer } from './live-announcer';
import { createJobsRuntime } from '../features/jobs/runtime/create-jobs-runtime';
import { Providers, createQueryClient } from './providers';

const queryClient = createQueryClient();
const runtime = createJobsRuntime(queryClient);
// For tests and devtools: whether this tab holds the shared stream, and the changes it applied.
Object.defineProperty(window, 'simmer', { value: { live: () => runtime.live.debug } });

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Providers queryClient={queryClient} runtime={runtime}>
      <JobBoard />
      <LiveAnnouncer />
    </Providers>
  </StrictMode>,
);
