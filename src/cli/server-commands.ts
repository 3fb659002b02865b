/**
 * `sluice user add|list|set|delete`, `sluice token create|list|revoke` and `sluice serve`: the
 * commands over the server's ports.
 * Passwords never come from a flag (it would sit in the shell history and `ps`): they are typed
 * at a prompt (twice, not echoed) or read from stdin with `--password-stdin`. There is no default
 * password.
 */
import type { Command } from 'commander';
import type { Role, User } from '../core/api.js';
import { ROLES } from '../core/types.js';
import { SluiceError } from '../core/errors.js';
import { hashPassword } from '../server/passwords.js';
import { openTokenStore, openUserStore } from '../store/open-store.js';
import type { UserStore } from '../store/user-store.js';
import type { Context } from './context.js';
import { table } from './format.js';

/** Where passwords come from. */
export interface Input {
  /** True when a person can be prompted. */
  isTTY: boolean;
  /** All of stdin (for --password-stdin). */
  readAll(): Promise<string>;
  /** Asks on the terminal without echoing what is typed. */
  promptHidden(question: string): Promise<string>;
}

export const stdinInput: Input = {
  get isTTY() {
    return process.stdin.isTTY === true;
  },
  async readAll() {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks).toString('utf8');
  },
  promptHidden(question) {
    return new Promise((resolve, reject) => {
      const stdin = process.stdin;
      process.stderr.write(question);
      stdin.setRawMode(true);
      stdin.resume();
      stdin.setEncoding('utf8');
      let typed = '';
      const done = (err?: Error) => {
        stdin.setRawMode(false);
        stdin.pause();
        stdin.removeListener('data', onData);
        process.stderr.write('\n');
        if (err) reject(err);
        else resolve(typed);
      };
      const onData = (data: string) => {
        for (const ch of data) {
          if (ch === '\r' || ch === '\n') return done();
          if (ch === '\u0003') return done(new SluiceError('CONFIG_INVALID', 'cancelled'));
          if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
          else typed += ch;
        }
      };
      stdin.on('data', onData);
    });
  },
};

export interface CommandDeps {
  out: { stdout(s: string): void; stderr(s: string): void };
  input: Input;
  withContext<T>(fn: (ctx: Context) => Promise<T>): Promise<T>;
  version: string;
}

function role(value: string): Role {
  if (!(ROLES as readonly string[]).includes(value)) {
    throw new SluiceError('CONFIG_INVALID', `--role must be one of ${ROLES.join(', ')}`, {
      field: 'role',
    });
  }
  return value as Role;
}

/** The new password: stdin's first line with --password-stdin, else typed twice at a prompt. */
async function readPassword(input: Input, fromStdin: boolean): Promise<string> {
  if (fromStdin) return (await input.readAll()).split(/\r?\n/)[0] ?? '';
  if (!input.isTTY) {
    throw new SluiceError(
      'CONFIG_INVALID',
      'no terminal to ask the password on: pipe it in with --password-stdin',
    );
  }
  const first = await input.promptHidden('Password: ');
  const again = await input.promptHidden('Password again: ');
  if (first !== again) throw new SluiceError('CONFIG_INVALID', 'the two passwords differ');
  return first;
}

/** The API contract's schemas (zod), loaded by the commands that check input with them only. */
const contract = () => import('../core/api.js');

async function checkPassword(password: string): Promise<void> {
  const { UserCreateRequestSchema } = await contract();
  const parsed = UserCreateRequestSchema.shape.password.safeParse(password);
  if (!parsed.success) {
    throw new SluiceError(
      'CONFIG_INVALID',
      `password: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
      { field: 'password' },
    );
  }
}

async function findUser(users: UserStore, email: string): Promise<User> {
  const user = await users.findUserByEmail(email);
  if (!user) throw new SluiceError('NOT_FOUND', `no user with email ${email}`);
  const { passwordHash: _hash, ...plain } = user;
  return plain;
}

/** Registers `user ...` and `serve` on the program. */
export function registerServerCommands(program: Command, deps: CommandDeps): void {
  const { out } = deps;
  const user = program
    .command('user')
    .description('Manage the users of the web UI and API (roles: viewer, admin, superadmin)');

  user
    .command('add')
    .description('Create a user; the password is asked for (or read from stdin), never a flag')
    .requiredOption('--email <email>', 'the login email')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--password-stdin', 'read the password from the first line of stdin')
    .option('--json', 'print the user as JSON')
    .action(
      async (opts: { email: string; role: string; passwordStdin?: boolean; json?: boolean }) => {
        const r = role(opts.role);
        const { UserCreateRequestSchema } = await contract();
        const email = UserCreateRequestSchema.shape.email.safeParse(opts.email.trim());
        if (!email.success) {
          throw new SluiceError('CONFIG_INVALID', `--email: "${opts.email}" is not an email`, {
            field: 'email',
          });
        }
        const password = await readPassword(deps.input, opts.passwordStdin ?? false);
        await checkPassword(password);
        await deps.withContext(async (ctx) => {
          const created = await openUserStore(ctx.store).createUser({
            email: email.data,
            role: r,
            passwordHash: await hashPassword(password),
          });
          if (opts.json) out.stdout(`${JSON.stringify(created)}\n`);
          else out.stdout(`user ${created.email} created (${created.role})\n`);
        });
      },
    );

  user
    .command('list')
    .description('List users')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      await deps.withContext(async (ctx) => {
        const users = await openUserStore(ctx.store).listUsers();
        if (opts.json) {
          out.stdout(`${JSON.stringify(users)}\n`);
          return;
        }
        out.stdout(
          `${table(
            ['EMAIL', 'ROLE', 'CREATED', 'LAST LOGIN'],
            users.map((u) => [u.email, u.role, u.createdAt, u.lastLoginAt]),
          )}\n`,
        );
      });
    });

  user
    .command('set')
    .description("Change a user's role, or password (--password / --password-stdin)")
    .requiredOption('--email <email>', 'the user')
    .option('--role <role>', `new role: ${ROLES.join(', ')}`)
    .option('--password', 'ask for a new password')
    .option('--password-stdin', 'read the new password from the first line of stdin')
    .option('--json', 'print the user as JSON')
    .action(
      async (opts: {
        email: string;
        role?: string;
        password?: boolean;
        passwordStdin?: boolean;
        json?: boolean;
      }) => {
        const r = opts.role !== undefined ? role(opts.role) : undefined;
        const wantsPassword = (opts.password ?? false) || (opts.passwordStdin ?? false);
        if (r === undefined && !wantsPassword) {
          throw new SluiceError('CONFIG_INVALID', 'give --role, --password or --password-stdin');
        }
        const password = wantsPassword
          ? await readPassword(deps.input, opts.passwordStdin ?? false)
          : undefined;
        if (password !== undefined) await checkPassword(password);
        await deps.withContext(async (ctx) => {
          const users = openUserStore(ctx.store);
          const found = await findUser(users, opts.email);
          const updated = await users.updateUser(found.id, {
            ...(r !== undefined ? { role: r } : {}),
            ...(password !== undefined ? { passwordHash: await hashPassword(password) } : {}),
          });
          if (opts.json) out.stdout(`${JSON.stringify(updated)}\n`);
          else out.stdout(`user ${updated.email} updated (${updated.role})\n`);
        });
      },
    );

  user
    .command('delete')
    .description('Delete a user (not the last superadmin)')
    .requiredOption('--email <email>', 'the user')
    .action(async (opts: { email: string }) => {
      await deps.withContext(async (ctx) => {
        const users = openUserStore(ctx.store);
        const found = await findUser(users, opts.email);
        await users.deleteUser(found.id);
        out.stdout(`user ${found.email} deleted\n`);
      });
    });

  const token = program
    .command('token')
    .description('Manage the tenant tokens of the Planhat-compatible ingest API');

  token
    .command('create')
    .description('Create a tenant token and print it: the only time it is shown')
    .requiredOption('--name <name>', 'a unique name; labels the data the token pushes')
    .option('--json', 'print { token, secret } as JSON')
    .action(async (opts: { name: string; json?: boolean }) => {
      const { TokenNameSchema } = await contract();
      const name = TokenNameSchema.safeParse(opts.name);
      if (!name.success) {
        throw new SluiceError(
          'CONFIG_INVALID',
          `--name: ${name.error.issues[0]?.message ?? 'invalid'}`,
          { field: 'name' },
        );
      }
      await deps.withContext(async (ctx) => {
        const { createTenantToken } = await import('../server/tenant-tokens.js');
        const created = await createTenantToken(openTokenStore(ctx.store), name.data, 'cli');
        if (opts.json) {
          out.stdout(`${JSON.stringify(created)}\n`);
          return;
        }
        out.stdout(`${created.secret}\n`);
        out.stderr(
          `token ${created.token.name} created: the line above is the only copy (only a hash is kept)\n`,
        );
      });
    });

  token
    .command('list')
    .description('List tenant tokens (never the tokens themselves), revoked ones included')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      await deps.withContext(async (ctx) => {
        const tokens = await openTokenStore(ctx.store).listTokens();
        if (opts.json) {
          out.stdout(`${JSON.stringify(tokens)}\n`);
          return;
        }
        out.stdout(
          `${table(
            ['NAME', 'TOKEN', 'CREATED', 'BY', 'LAST USED', 'REVOKED'],
            tokens.map((t) => [
              t.name,
              `${t.prefix}...`,
              t.createdAt,
              t.createdBy,
              t.lastUsedAt,
              t.revokedAt,
            ]),
          )}\n`,
        );
      });
    });

  token
    .command('revoke')
    .description('Revoke a tenant token: it gets 401 from now on; the data it pushed stays')
    .argument('<name>', 'the token name')
    .option('--json', 'print the token as JSON')
    .action(async (name: string, opts: { json?: boolean }) => {
      await deps.withContext(async (ctx) => {
        const tokens = openTokenStore(ctx.store);
        const found = await tokens.findTokenByName(name);
        if (found === undefined) throw new SluiceError('NOT_FOUND', `no token named ${name}`);
        const revoked = await tokens.revokeToken(found.id);
        if (opts.json) out.stdout(`${JSON.stringify(revoked)}\n`);
        else out.stdout(`token ${revoked.name} revoked\n`);
      });
    });

  program
    .command('serve')
    .description('Run the web UI, the API and the scheduler (runs every section on its schedule)')
    .option('--port <port>', 'TCP port (0: any free port)', '8080')
    .option('--host <host>', 'address to listen on (0.0.0.0: every interface)', '127.0.0.1')
    .option(
      '--time-zone <zone>',
      'IANA time zone of `daily at HH:00` schedules (default: SLUICE_TIME_ZONE, else UTC)',
    )
    .option('--trust-proxy', 'trust X-Forwarded-* headers from a reverse proxy (TLS in front)')
    .action(
      async (opts: { port: string; host: string; timeZone?: string; trustProxy?: boolean }) => {
        const port = Number(opts.port);
        if (!/^\d+$/.test(opts.port) || port > 65535) {
          throw new SluiceError(
            'CONFIG_INVALID',
            `--port must be 0-65535 (0: any free port), not "${opts.port}"`,
          );
        }
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          // The server (fastify, pino, the UI) loads only for `serve`: other commands stay light.
          const { serve } = await import('./serve.js');
          await deps.withContext((ctx) =>
            serve(
              ctx,
              {
                port,
                host: opts.host,
                ...(opts.timeZone !== undefined ? { timeZone: opts.timeZone } : {}),
                trustProxy: opts.trustProxy ?? false,
                version: deps.version,
              },
              stop.signal,
              (line) => out.stderr(`${line}\n`),
            ),
          );
        } finally {
          process.removeListener('SIGINT', onSignal);
          process.removeListener('SIGTERM', onSignal);
        }
      },
    );
}
