// `tsdaemon [run]`'s parse step: the command line, TSDAEMON_* variables and the --config file become one
// checked RunConfig, or a UsageError that names the option, the value and the fix ("did you mean" for a
// typo). Nothing is opened, bound or started here.
import { resolve } from 'node:path';
import { findConfigPath, readConfigFile } from './config-file.js';
import { readEnvFile } from './env-file.js';
import { screenEnvironment } from './environment.js';
import {
  buildParser,
  helpText,
  normalizeRunConfig,
  RUN_OPTION_NAMES,
  type RunConfig,
  UsageError,
} from './options.js';
import { closest } from './suggest.js';
import { doneWithYargs } from './yargs-loader.js';

/** The first word of a command line that is a command rather than an option. */
const COMMAND_NAMES = ['run', 'status', 'reload', 'stop', 'unit', 'doctor'];

export type ParsedRun =
  | {
      config: RunConfig;
      /** Said once the log is open: TSDAEMON_* variables that name no option and were ignored. */
      warnings: string[];
    }
  | { help: string };

/** Split at the first "--": options before, the child's command after (never parsed, kept verbatim). */
export function splitArgs(args: string[]): { options: string[]; command?: string[] } {
  const at = args.indexOf('--');
  return at < 0 ? { options: args } : { options: args.slice(0, at), command: args.slice(at + 1) };
}

/** yargs' "Unknown argument: x" with what the operator probably meant. */
function explainUnknown(
  failure: string,
  name: string,
  context: {
    options: string[];
    command?: string[];
    fileConfig: Record<string, unknown>;
    configPath?: string;
  },
): string {
  if (name in context.fileConfig) {
    const candidates = /[A-Z]/.test(name)
      ? RUN_OPTION_NAMES.map((o) => o.replace(/-(\w)/g, (_, c: string) => c.toUpperCase()))
      : RUN_OPTION_NAMES;
    const near = closest(name, candidates);
    return `--config: unknown option '${name}' in ${context.configPath}${near ? ` (did you mean '${near}'?)` : ''}`;
  }
  if (context.options.includes(name)) {
    // A word, not an option: a misspelt command, or the command to run without "--" before it.
    const command = context.options[0] === name ? closest(name, COMMAND_NAMES) : undefined;
    if (command) return `${failure} (did you mean 'tsdaemon ${command}'?)`;
    return context.command === undefined ? `${failure} (put the command to run after --)` : failure;
  }
  const near = closest(name, RUN_OPTION_NAMES);
  return near ? `${failure} (did you mean --${near}?)` : failure;
}

export async function parseRunConfig(args: string[], env: NodeJS.ProcessEnv): Promise<ParsedRun> {
  const { options, command } = splitArgs(args);
  const configPath = findConfigPath(options, env);
  const fileConfig = configPath ? readConfigFile(configPath) : {};
  const listenGiven = options.some((o) => /^(--listen|-l)(=|$)/.test(o));
  // yargs reads TSDAEMON_* from process.env itself: the unknown ones are taken out of it first.
  const ignored = screenEnvironment(process.env, RUN_OPTION_NAMES, listenGiven);
  for (const name of ignored) delete env[name];
  let failure: string | undefined;
  const parser = (await buildParser(options, fileConfig)).fail((message, error) => {
    failure =
      error instanceof UsageError ? error.message : (message ?? error?.message ?? 'invalid arguments');
  });
  if (options.includes('--help') || options.includes('-h')) return { help: await helpText(parser) };
  const argv = (await parser.parseAsync()) as Record<string, unknown>;
  doneWithYargs({ saveCodeCache: true });
  if (failure !== undefined) {
    const unknown = /^Unknown arguments?: (.*)$/.exec(failure);
    // yargs names --lame-dcuk twice, also as lameDcuk.
    const camel = (name: string) => name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
    const given = unknown?.[1]?.split(',').map((n) => n.trim()) ?? [];
    const names = given.filter((n) => !given.some((other) => other !== n && camel(other) === n));
    const name = names[0];
    if (name !== undefined) {
      failure = `Unknown argument${names.length > 1 ? 's' : ''}: ${names.join(', ')}`;
      failure = explainUnknown(failure, name, {
        options,
        fileConfig,
        ...(command ? { command } : {}),
        ...(configPath ? { configPath } : {}),
      });
    }
    throw new UsageError(failure);
  }
  // Only TSDAEMON_LISTEN packs several listeners into one value (separated by spaces); a flag's value is
  // one listener, spaces and all.
  const listenFromEnv = env.TSDAEMON_LISTEN !== undefined && !listenGiven;
  const cwd = process.cwd();
  const config = normalizeRunConfig(argv, command ?? [], cwd, listenFromEnv);
  const envFiles = argv.envFile === undefined ? [] : [argv.envFile].flat();
  for (const given of envFiles) {
    if (given === '') throw new UsageError('--env-file: empty value');
    if (typeof given !== 'string') throw new UsageError(`--env-file: ${JSON.stringify(given)} is not a path`);
    Object.assign(config.environment, readEnvFile(resolve(cwd, given), given));
  }
  const warnings =
    ignored.length === 0
      ? []
      : [
          `ignoring ${ignored.join(', ')}: no tsdaemon option has ${ignored.length === 1 ? 'this name' : 'these names'} (TSDAEMON_<OPTION> sets --<option>; see tsdaemon --help)`,
        ];
  return { config, warnings };
}
