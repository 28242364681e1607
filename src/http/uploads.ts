import { createWriteStream, mkdirSync, unlink } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, pipeline } from 'node:stream';
import multer from 'multer';
import type { Request, RequestHandler } from 'express';
import { HttpError } from './errors.ts';

const MB = 1024 * 1024;

/**
 * Limits of one compose form's uploads (the relay's own size limit may be
 * lower), and how many may be read at once in this process: each upload
 * holds a place until its response is sent, message building included.
 */
export const UPLOAD_LIMITS = {
  files: 10,
  fileSize: 20 * MB,
  /** All files of one message together. */
  total: 25 * MB,
  /** Compose posts with a body being read or sent at the same time; the next one gets 503. */
  concurrent: 4,
  fields: 40,
  fieldSize: 1_100_000,
  parts: 60,
};

/** uploadLimitParams are the limits as the compose page and its errors state them (in MB). */
export const uploadLimitParams = { files: UPLOAD_LIMITS.files, each: UPLOAD_LIMITS.fileSize / MB, total: UPLOAD_LIMITS.total / MB };

// The text of the message and the multipart framing, on top of the files, for the Content-Length check.
const FORM_ALLOWANCE = 2 * MB;

/** UploadLimitError is multer's way to hear that the files of one request passed UPLOAD_LIMITS.total. */
class UploadLimitError extends Error {
  readonly code = 'LIMIT_TOTAL_SIZE';
}

/** Uploaded is the per-request record of the temp files written, so they are removed whatever happens. */
interface Uploaded {
  paths: Set<string>;
  bytes: number;
  finished: boolean;
}

const records = new WeakMap<Request, Uploaded>();

const remove = (path: string) => unlink(path, () => {});

/**
 * TempFileStorage is a multer storage engine writing each file to its own
 * temp file (mode 0600), counting the bytes of the whole request against
 * the total cap as they arrive. Files are removed when the response is done,
 * or at once when they were still being written by then.
 */
class TempFileStorage implements multer.StorageEngine {
  constructor(private readonly dir: string) {}

  _handleFile(req: Request, file: Express.Multer.File, cb: (error?: unknown, info?: Partial<Express.Multer.File>) => void): void {
    const record = records.get(req);
    if (!record) return cb(new Error('upload without a record'));
    const path = join(this.dir, randomUUID());
    record.paths.add(path);
    let size = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, next) {
        size += chunk.length;
        record.bytes += chunk.length;
        next(record.bytes > UPLOAD_LIMITS.total ? new UploadLimitError() : null, chunk);
      },
    });
    const out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    // The response may have finished while this file was still being written: then nothing else will remove it.
    out.on('close', () => {
      if (record.finished) remove(path);
    });
    pipeline(file.stream, counter, out, (err) => {
      if (err) {
        file.stream.resume();
        remove(path);
        return cb(err);
      }
      cb(null, { path, size, destination: this.dir, filename: path.slice(this.dir.length + 1) });
    });
  }

  _removeFile(_req: Request, file: Express.Multer.File, cb: (error: Error | null) => void): void {
    remove(file.path);
    cb(null);
  }
}

/**
 * composeUploads reads the compose form (multipart/form-data) of a request
 * that already passed its guards: the session, the mailbox permission and
 * the CSRF token, which multipart forms carry in the action URL because
 * their body is read only here. Before reading a byte it refuses a body
 * declared larger than the total cap (413) or of unknown length (411), and
 * answers 503 when UPLOAD_LIMITS.concurrent uploads are already in flight.
 * Files stream to a temp dir, never to memory, and are removed once the
 * response is done, whatever happened.
 */
export function composeUploads(dir = join(tmpdir(), 'postern-uploads')): RequestHandler {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let inFlight = 0;
  const parse = multer({
    storage: new TempFileStorage(dir),
    limits: UPLOAD_LIMITS,
    // Browsers send file names as raw UTF-8 (附件.pdf); busboy's default would read them as latin1.
    defParamCharset: 'utf8',
  } as multer.Options).array('attachments', UPLOAD_LIMITS.files);

  return function uploads(req, res, next) {
    if (!req.is('multipart/form-data')) return next();
    const length = Number(req.get('content-length'));
    if (!req.get('content-length') || !Number.isSafeInteger(length)) return next(new HttpError(411, 'error.bad_request'));
    if (length > UPLOAD_LIMITS.total + FORM_ALLOWANCE) return next(tooLarge());
    if (inFlight >= UPLOAD_LIMITS.concurrent) return next(new HttpError(503, 'mail.uploads_busy', {}, 60));
    inFlight += 1;
    const record: Uploaded = { paths: new Set(), bytes: 0, finished: false };
    records.set(req, record);
    res.once('close', () => {
      inFlight -= 1;
      record.finished = true;
      for (const path of record.paths) remove(path);
    });
    parse(req, res, (err?: unknown) => {
      if (!err) return next();
      if (err instanceof UploadLimitError) return next(tooLarge());
      if (err instanceof multer.MulterError) {
        const over = ['LIMIT_FILE_SIZE', 'LIMIT_FIELD_VALUE', 'LIMIT_FILE_COUNT', 'LIMIT_PART_COUNT'].includes(err.code);
        return next(over ? tooLarge() : new HttpError(400, 'error.bad_request'));
      }
      next(new HttpError(400, 'error.bad_request'));
    });
  };
}

function tooLarge(): HttpError {
  return new HttpError(413, 'mail.too_large', uploadLimitParams);
}
