import multer from 'multer';
import type { RequestHandler } from 'express';
import { HttpError } from '../http/errors.ts';

/** Limits of one message's uploads; the relay's own size limit may be lower. */
export const UPLOAD_LIMITS = { files: 10, fileSize: 20 * 1024 * 1024, fields: 40, fieldSize: 1_100_000, parts: 60 };

/** The compose endpoints: /mail/compose and /mail/shared/<owner>/compose. */
const COMPOSE = /^\/mail(?:\/shared\/[^/]+)?\/compose$/;

// Browsers send file names as raw UTF-8 (附件.pdf); busboy's default would read them as latin1.
const parse = multer({ storage: multer.memoryStorage(), limits: UPLOAD_LIMITS, defParamCharset: 'utf8' } as multer.Options).array('attachments', UPLOAD_LIMITS.files);

/**
 * composeUploads parses the compose form (multipart/form-data) before the
 * CSRF check, so the check reads `_csrf` from the form like any other: the
 * token is checked for multipart forms too. It runs only for the compose
 * path and only for signed-in sessions, so nobody can make Postern buffer
 * uploads without a session; everything else is left to the next handler.
 * Files stay in memory (bounded by UPLOAD_LIMITS) and are never written to disk.
 */
export const composeUploads: RequestHandler = (req, res, next) => {
  if (req.method !== 'POST' || !COMPOSE.test(req.path) || !req.is('multipart/form-data')) return next();
  if (req.session?.auth?.level !== 'full') return next();
  parse(req, res, (err?: unknown) => {
    if (!err) return next();
    if (err instanceof multer.MulterError) {
      const tooLarge = ['LIMIT_FILE_SIZE', 'LIMIT_FIELD_VALUE', 'LIMIT_FILE_COUNT', 'LIMIT_PART_COUNT'].includes(err.code);
      return next(new HttpError(tooLarge ? 413 : 400, tooLarge ? 'mail.too_large' : 'error.bad_request'));
    }
    next(new HttpError(400, 'error.bad_request'));
  });
};
