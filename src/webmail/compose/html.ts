import sanitizeHtml from 'sanitize-html';
import { convert } from 'html-to-text';

/**
 * What a person may write in a message: text formatting, lists, links and
 * quotes. Nothing that runs, loads or styles anything: no images (a data:
 * or remote image is a tracker or a payload), no style or class, and links
 * only to the web or to an address.
 */
const COMPOSED: sanitizeHtml.IOptions = {
  allowedTags: ['p', 'br', 'b', 'strong', 'i', 'em', 'u', 'ul', 'ol', 'li', 'a', 'blockquote', 'div', 'span'],
  allowedAttributes: { a: ['href'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: {},
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  // The text inside these is code, a stylesheet or a fallback, never part of the message.
  nonTextTags: ['style', 'script', 'textarea', 'option', 'noscript', 'title', 'head', 'template', 'xml', 'iframe', 'object', 'svg', 'math'],
  transformTags: {
    // sanitize-html lets relative URLs through; in a message they point nowhere, so only absolute ones stay.
    a: (tagName, attribs) => {
      const href = (attribs.href ?? '').trim();
      const kept: sanitizeHtml.Attributes = ABSOLUTE_LINK.test(href) ? { href } : {};
      return { tagName, attribs: kept };
    },
  },
};

const ABSOLUTE_LINK = /^(?:https?:\/\/|mailto:)/i;

/** COMPOSED_HTML_MAX bounds the markup of one message body. */
export const COMPOSED_HTML_MAX = 1_000_000;

/** sanitizeComposed reduces a composed message body (or a signature) to the allow-list above. */
export function sanitizeComposed(html: string): string {
  return sanitizeHtml(html, COMPOSED).trim();
}

/**
 * htmlToPlain writes the text part that goes with an HTML message: list
 * items as "* item", links as "text [url]", quotes with "> ", no wrapping
 * (the reader's program wraps).
 */
export function htmlToPlain(html: string): string {
  return convert(html, {
    wordwrap: false,
    selectors: [
      { selector: 'a', options: { linkBrackets: ['[', ']'], hideLinkHrefIfSameAsText: true, ignoreHref: false } },
      { selector: 'ul', options: { itemPrefix: '* ' } },
      { selector: 'ol', options: { itemPrefix: '* ' } },
    ],
    limits: { maxInputLength: COMPOSED_HTML_MAX },
  })
    .split('\n')
    // Trailing spaces go, except in the "-- " line that marks a signature.
    .map((l) => (l.trimEnd() === '--' ? '-- ' : l.trimEnd()))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** escapeHtml makes text safe to place in markup. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** textToHtml writes plain text as markup that reads the same: escaped, line breaks kept. */
export function textToHtml(text: string): string {
  return escapeHtml(text.replace(/\r\n/g, '\n')).replace(/\n/g, '<br>');
}
