import sanitizeHtml from 'sanitize-html';

/** SafeHtml is a mail body fit to place in a page, and how many remote images it held back. */
export interface SafeHtml {
  html: string;
  blockedImages: number;
}

// Layout tags and presentational attributes mail relies on. No style, class
// or id: the page's CSP would ignore inline styles anyway, and classes or ids
// from a stranger's mail must not borrow the page's own look or anchors.
const TAGS = [
  ...sanitizeHtml.defaults.allowedTags.filter((t) => t !== 'a'),
  'a', 'img', 'font', 'center', 'u', 's', 'del', 'ins', 'big', 'small', 'sub', 'sup', 'span', 'div',
];
const TABLE_ATTRS = ['align', 'valign', 'width', 'height', 'bgcolor', 'border', 'cellpadding', 'cellspacing', 'colspan', 'rowspan'];

/**
 * sanitizeMail turns a message's HTML into markup with no scripts, no event
 * handlers, no forms, no frames and no styles; links open elsewhere without
 * a referrer; remote images are replaced by a placeholder unless the reader
 * asked for them (`remoteImages`). Embedded images (data: URIs from cid:
 * parts) always show: they load nothing from outside.
 */
export function sanitizeMail(html: string, remoteImages: boolean): SafeHtml {
  let blockedImages = 0;
  const out = sanitizeHtml(html, {
    allowedTags: TAGS,
    disallowedTagsMode: 'discard',
    nonTextTags: ['style', 'script', 'textarea', 'option', 'noscript', 'title', 'head', 'template', 'xml'],
    allowedAttributes: {
      '*': ['dir', 'lang', 'title', 'align'],
      a: ['href', 'name', 'target', 'rel'],
      img: ['src', 'alt', 'width', 'height', 'border'],
      font: ['color', 'size', 'face'],
      table: TABLE_ATTRS,
      td: TABLE_ATTRS,
      th: TABLE_ATTRS,
      tr: TABLE_ATTRS,
      span: ['class'],
    },
    allowedClasses: { span: ['mail-blocked-image'] },
    allowedSchemes: ['http', 'https', 'mailto', 'tel'],
    allowedSchemesByTag: { img: remoteImages ? ['data', 'http', 'https'] : ['data'] },
    allowProtocolRelative: false,
    transformTags: {
      a: (tagName, attribs) => ({ tagName, attribs: { ...attribs, target: '_blank', rel: 'noopener noreferrer nofollow' } }),
      img: (tagName, attribs) => {
        const src = (attribs.src ?? '').trim();
        if (/^data:image\/(png|gif|jpe?g|webp|bmp);/i.test(src)) return { tagName, attribs };
        if (/^https?:\/\//i.test(src) && remoteImages) return { tagName, attribs };
        if (/^(https?:)?\/\//i.test(src)) blockedImages += 1;
        // A placeholder keeps the layout readable and tells the reader something was held back.
        return { tagName: 'span', attribs: { class: 'mail-blocked-image', title: attribs.alt ?? '' }, text: attribs.alt ? `[${attribs.alt}]` : '▨' };
      },
    },
  });
  return { html: out, blockedImages };
}
