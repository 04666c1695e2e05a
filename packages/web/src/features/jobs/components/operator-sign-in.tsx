import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { isBusy } from '../../../lib/api-client';
import { announce } from '../../../lib/announcer';
import { useCheckOperatorToken } from '../api/check-operator-token';
import { useJobsRuntime, useOperatorToken } from '../runtime/jobs-runtime';
import './operator-sign-in.css';

/**
 * The header's operator sign-in: with the server's OPERATOR_TOKEN, this tab may act on every job.
 * The token is kept for the tab's session only (sessionStorage), until Sign out or the tab closes.
 * The server is asked whether it takes the token before the tab keeps it (check-operator-token.ts);
 * it checks it again on every action, and a refusal says so on the card.
 */
export function OperatorSignIn() {
  const { operator } = useJobsRuntime();
  const token = useOperatorToken();
  const dialogRef = useRef<HTMLDialogElement>(null);
  const [open, setOpen] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const check = useCheckOperatorToken();
  const titleId = useId();
  const inputId = useId();

  useEffect(() => {
    const dialog = dialogRef.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const value = new FormData(event.currentTarget).get('token');
    const given = typeof value === 'string' ? value.trim() : '';
    if (given === '') {
      setProblem('Enter the operator token.');
      return;
    }
    setProblem(null);
    let accepted: boolean;
    try {
      accepted = await check.mutateAsync(given);
    } catch (error) {
      setProblem(
        isBusy(error)
          ? `Too many actions from this address: try again in ${Math.ceil(error.retryAfterMs / 1_000)} s.`
          : 'The server could not check the token; try again.',
      );
      return;
    }
    if (!accepted) {
      setProblem('The server does not accept this token.');
      return;
    }
    operator.signIn(given);
    setOpen(false);
    announce('Signed in as operator: every job shows its actions.');
  }

  if (token) {
    return (
      <div className="operator">
        <button
          type="button"
          className="operator__signed-in"
          aria-label="Operator: sign out"
          title="Signed in as operator in this tab: you may act on every job. Press to sign out."
          onClick={() => {
            operator.signOut();
            announce('Signed out: only your own jobs show their actions.');
          }}
        >
          <OperatorIcon />
          <span className="operator__label-text">Operator</span>
          <svg viewBox="0 0 24 24" className="operator__icon operator__icon--x" aria-hidden="true">
            <path d="M7 7l10 10M17 7 7 17" />
          </svg>
        </button>
      </div>
    );
  }

  return (
    <div className="operator">
      <button type="button" className="operator__open" onClick={() => setOpen(true)} aria-haspopup="dialog">
        <OperatorIcon />
        <span className="operator__label-text">Operator sign-in</span>
      </button>
      <dialog
        ref={dialogRef}
        className="operator__dialog"
        aria-labelledby={titleId}
        onClose={() => setOpen(false)}
        onClick={(event) => event.target === dialogRef.current && setOpen(false)}
      >
        {open && (
          // Closing clears the form: a token typed and abandoned does not wait in the page.
          <form className="operator__form" onSubmit={(event) => void onSubmit(event)}>
            <h2 id={titleId} className="operator__title">
              Operator sign-in
            </h2>
            <p className="operator__text">
              An operator may cancel, run, retry and delete every job. The token is the server's <code>OPERATOR_TOKEN</code>; this tab keeps
              it until you sign out or close the tab.
            </p>
            <label htmlFor={inputId} className="operator__label">
              Operator token
            </label>
            <input
              id={inputId}
              name="token"
              type="password"
              className="operator__input"
              autoComplete="off"
              spellCheck={false}
              required
              autoFocus
              aria-invalid={problem !== null}
              aria-describedby={problem ? `${inputId}-problem` : undefined}
            />
            {problem && (
              <p id={`${inputId}-problem`} className="operator__problem" role="alert">
                {problem}
              </p>
            )}
            <div className="operator__buttons">
              <button type="button" className="button button--ghost" onClick={() => setOpen(false)}>
                Close
              </button>
              <button type="submit" className="button button--primary" disabled={check.isPending}>
                {check.isPending ? 'Checking…' : 'Sign in'}
              </button>
            </div>
          </form>
        )}
      </dialog>
    </div>
  );
}

function OperatorIcon() {
  return (
    <svg viewBox="0 0 24 24" className="operator__icon" aria-hidden="true">
      <path d="M12 3 4 6v6c0 4.4 3.4 8.3 8 9 4.6-.7 8-4.6 8-9V6l-8-3Z" />
      <path d="m9 12 2 2 4-4" />
    </svg>
  );
}
