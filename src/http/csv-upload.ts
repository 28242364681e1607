import multer from 'multer';
import type { RequestHandler } from 'express';
import { HttpError } from './errors.ts';

/** The largest CSV file an administrator may import at once (20,000 users fit in well under this). */
export const CSV_MAX_BYTES = 2 * 1024 * 1024;

const reader = multer({
  storage: multer.memoryStorage(),
  limits: { files: 1, fileSize: CSV_MAX_BYTES, fields: 10, fieldSize: 4096, parts: 12 },
}).single('file');

/**
 * csvUpload reads one CSV file posted as the form field `file` (multipart;
 * the CSRF token rides in the URL as `?_csrf=`, as for compose) into
 * `req.body.csv` as text, without a byte-order mark. A file over
 * CSV_MAX_BYTES is refused with 413; no file leaves `csv` empty.
 */
export function csvUpload(): RequestHandler {
  return function csvUpload(req, res, next) {
    reader(req, res, (err: unknown) => {
      if (err instanceof multer.MulterError) return next(err.code === 'LIMIT_FILE_SIZE' ? new HttpError(413, 'error.csv_too_large', { mb: CSV_MAX_BYTES / 1024 / 1024 }) : new HttpError(400, 'error.bad_request'));
      if (err) return next(new HttpError(400, 'error.bad_request'));
      req.body ??= {};
      const text = req.file ? req.file.buffer.toString('utf8') : '';
      req.body.csv = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
      next();
    });
  };
}
