import type { Request, Response } from 'express';
import type { Services } from '../services.ts';
import { autoconfigXml } from './autoconfig.ts';
import { clientSettings } from './settings.ts';

/** mailclientHandlers publish the server settings mail clients discover by themselves. */
export function mailclientHandlers(s: Services) {
  return {
    autoconfig(req: Request, res: Response) {
      const email = typeof req.query.emailaddress === 'string' ? req.query.emailaddress : '';
      const domain = email.includes('@') ? email.split('@')[1]!.slice(0, 253) : clientSettings(s.config).host;
      res.type('application/xml').set('Cache-Control', 'public, max-age=3600').send(autoconfigXml(clientSettings(s.config), domain, s.config.SERVICE_NAME));
    },
  };
}
