import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { ConfigError, loadConfig } from '../config/load.ts';
import { DirLockError } from '../db/lock.ts';
import { createLogger } from '../log.ts';
import { createServices, type Services } from '../services.ts';
import { UserError } from '../users/service.ts';
import { translate } from '../i18n/index.ts';
import { describeError } from '../log-redact.ts';
import { tokensCommand, TOKENS_USAGE } from '../twofactor/hardware/cli.ts';

const USAGE = `Usage: postern <command>

  user add <email> [--admin] [--name "Display Name"]
                          create an account; the password is read from stdin
                          (one line) or prompted for
  user list               list accounts with admin, disabled and 2FA state
  policy require-2fa <on|off> [--user <email>]
                          force two-step verification for everyone, or for one user
  policy mail-main-password <on|off>
                          whether users without two-step verification may use
                          their main password in mail apps (default on)
${TOKENS_USAGE}

The database is the one the server uses (DATABASE_URL, or the embedded one
under DATA_DIR). With the embedded database, stop the server first.`;

class UsageError extends Error {}

async function readPassword(): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdin.isTTY ? process.stderr : undefined, terminal: process.stdin.isTTY });
  if (process.stdin.isTTY) {
    // Keep the typed password off the screen.
    const output = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WritableStream };
    process.stderr.write('Password: ');
    output._writeToOutput = () => {};
  }
  const line = await new Promise<string>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(''));
  });
  rl.close();
  if (process.stdin.isTTY) process.stderr.write('\n');
  return line;
}

async function run(s: Services, argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { admin: { type: 'boolean' }, name: { type: 'string' }, user: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const [group, verb, arg] = positionals;
  if (group === 'user' && verb === 'add' && arg) {
    const password = await readPassword();
    const user = await s.userService.create({ email: arg, password, displayName: values.name, isAdmin: values.admin });
    console.log(`Created ${user.email}${user.isAdmin ? ' (administrator)' : ''}.`);
    return;
  }
  if (group === 'user' && verb === 'list') {
    const rows = await s.users.list();
    if (!rows.length) console.log('No accounts yet. Create one with: postern user add <email> --admin');
    for (const u of rows) {
      const flags = [u.isAdmin && 'admin', u.disabled && 'disabled', u.phone ? '2fa:sms' : '2fa:none', u.require2fa !== null && `require-2fa:${u.require2fa ? 'on' : 'off'}`].filter(Boolean);
      console.log(`${u.email}\t${u.displayName}\t${flags.join(' ')}`);
    }
    return;
  }
  if (group === 'policy' && verb === 'require-2fa' && (arg === 'on' || arg === 'off')) {
    const target = values.user ? await s.users.loadByEmail(values.user) : undefined;
    if (values.user && !target) throw new UsageError(`No account ${values.user}.`);
    await s.userService.setRequire2fa(arg === 'on', target, undefined, 'cli');
    console.log(`Two-step verification is now ${arg === 'on' ? 'required' : 'not required'} for ${target ? target.email : 'everyone'}.`);
    return;
  }
  if (group === 'policy' && verb === 'mail-main-password' && (arg === 'on' || arg === 'off')) {
    await s.users.saveSetting('mail_main_password', arg);
    await s.audit.record({ event: 'policy.changed', account: 'cli', details: { mailMainPassword: arg === 'on' } });
    console.log(
      arg === 'on'
        ? 'Mail apps may use the main password of users without two-step verification.'
        : 'Mail apps now need a client-specific password for everyone.',
    );
    return;
  }
  if (group === 'tokens') {
    const status = await tokensCommand(s, verb, arg);
    if (status !== undefined) {
      process.exitCode = status;
      return;
    }
  }
  throw new UsageError(values.help ? '' : 'Unknown command.');
}

const argv = process.argv.slice(2);
if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
  console.log(USAGE);
  process.exit(0);
}
let services: Services | undefined;
try {
  const config = loadConfig();
  services = await createServices(config, createLogger('warn', (l) => process.stderr.write(l + '\n')));
  await run(services, argv);
  await services.store.close();
} catch (err) {
  await services?.store.close().catch(() => {});
  if (err instanceof UsageError) {
    if (err.message) console.error(err.message);
    console.error(USAGE);
    process.exit(2);
  }
  if (err instanceof UserError) console.error(translate('en', err.key));
  else if (err instanceof ConfigError || err instanceof DirLockError) console.error(err.message);
  else console.error(`Failed: ${describeError(err)}`);
  process.exit(1);
}
