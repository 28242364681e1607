import supertest from 'supertest';
import type { Express } from 'express';

/**
 * WebClient is a browser stand-in for HTTP tests: it keeps cookies, reads
 * the CSRF token from the last page it loaded and sends it with each form,
 * the way a person filling in the page would.
 */
export class WebClient {
  readonly agent: ReturnType<typeof supertest.agent>;
  csrf = '';

  /** `app` is an application, or the address of one that listens. */
  constructor(
    app: Express | string,
    private readonly headers: Record<string, string> = {},
  ) {
    this.agent = supertest.agent(app);
  }

  async get(path: string) {
    const res = await this.agent.get(path).set(this.headers);
    const token = res.text?.match(/name="_csrf" value="([^"]+)"/)?.[1];
    if (token) this.csrf = token;
    return res;
  }

  /** post submits a form with the current CSRF token (unless `_csrf` is given). */
  async post(path: string, form: Record<string, string> = {}) {
    return this.agent
      .post(path)
      .set(this.headers)
      .type('form')
      .send({ _csrf: this.csrf, ...form });
  }

  /** cookie returns the value this client holds for a cookie name. */
  cookie(name: string): string | undefined {
    const jar = (this.agent as unknown as { jar: { getCookie(n: string, o: object): { value: string } | undefined } }).jar;
    return jar.getCookie(name, { domain: '127.0.0.1', path: '/', secure: false, script: false })?.value;
  }

  setCookie(name: string, value: string): void {
    const jar = (this.agent as unknown as { jar: { setCookie(c: string): void } }).jar;
    jar.setCookie(`${name}=${value}; Path=/`);
  }
}

/** textOf strips tags so assertions read what a person reads. */
export function textOf(html: string): string {
  return html
    .replace(/<script[\s\S]*?<\/script>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}
