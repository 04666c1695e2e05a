import { useEffect, useRef, useState } from 'react';
import type { Job } from '@simmer/contracts';
import { ApiError } from '../../../lib/api-client';
import { withReferral } from '../../../lib/format';
import { useDownloadPhoto } from '../api/download-photo';
import { PhotoCredit } from './photo-credit';
import './modal.css';
import './photo-dialog.css';

/** The larger view of a resolved job's photo: a modal <dialog> (focus trapped, Escape closes) with Download. */
export function PhotoDialog({ job, onClose }: { job: Job | null; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const download = useDownloadPhoto();
  const [message, setMessage] = useState<string | null>(null);

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (job && !dialog.open) dialog.showModal();
    if (!job && dialog.open) dialog.close();
  }, [job]);

  useEffect(() => {
    setMessage(null);
    download.reset();
  }, [job?.id]);

  const result = job?.result ?? null;
  const photo = result?.photo ?? null;

  async function onDownload() {
    if (!job || !photo) return;
    setMessage(null);
    let url: string;
    try {
      url = (await download.mutateAsync(job.id)).url;
    } catch (error) {
      if (result?.source === 'demo' && error instanceof ApiError && (error.status === 404 || error.status === 409)) {
        url = photo.urls.full;
      } else {
        setMessage(
          error instanceof ApiError ? `Download failed: ${error.message}` : 'Download failed: the server could not be reached. Try again.',
        );
        return;
      }
    }
    const link = document.createElement('a');
    link.href = url;
    link.target = '_blank';
    link.rel = 'noopener';
    link.download = `simmer-${photo.id}`;
    document.body.append(link);
    link.click();
    link.remove();
    setMessage('Download started.');
  }

  return (
    <dialog
      ref={ref}
      className="modal dialog"
      aria-labelledby="photo-dialog-title"
      onClose={onClose}
      onClick={(e) => e.target === ref.current && onClose()}
    >
      {job && photo && result && (
        <div className="dialog__content">
          <div className="dialog__media" style={photo.color ? { backgroundColor: photo.color } : undefined}>
            <img
              className="dialog__img"
              src={photo.urls.regular}
              srcSet={`${photo.urls.small} 400w, ${photo.urls.regular} 1080w`}
              sizes="(max-width: 900px) 100vw, 900px"
              alt={photo.description ?? `Food photo by ${photo.author.name}`}
              width={photo.width}
              height={photo.height}
            />
          </div>
          <div className="dialog__footer">
            <div className="dialog__text">
              <h2 id="photo-dialog-title" className="dialog__title">
                {photo.description ?? 'A food photo'}
              </h2>
              <PhotoCredit result={result} className="dialog__credit" />
            </div>
            <div className="dialog__actions">
              <a className="button button--ghost" href={withReferral(photo.link)} target="_blank" rel="noopener noreferrer">
                {result.source === 'demo' ? 'Open image' : 'View on Unsplash'}
              </a>
              <button type="button" className="button button--primary" onClick={onDownload} disabled={download.isPending}>
                {download.isPending ? 'Preparing…' : 'Download'}
              </button>
              <button type="button" className="button button--ghost" onClick={onClose}>
                Close
              </button>
            </div>
          </div>
          <p className="dialog__status" role="status">
            {message}
          </p>
        </div>
      )}
    </dialog>
  );
}
