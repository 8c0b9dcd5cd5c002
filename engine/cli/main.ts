// Entry of the `haloc` command line: a table of sub-commands, exit codes 0 (ok), 1 (a problem with the
// input, one line on stderr), 2 (wrong usage), 70 (a bug: the stack goes to stderr).
import { parseArgs } from 'node:util';
import { errorMessage, HalocError } from '../errors';
import { analyzeCommand } from './analyzeCommand';
import { UsageError, type CliCommand } from './cliArgs';
import { compressCommand } from './compressCommand';
import { evalCommand } from './evalCommand';
import { finetuneCommand } from './finetuneCommand';
import { profileCommand } from './profileCommand';
import { searchCommand } from './searchCommand';

const commands: readonly CliCommand[] = [analyzeCommand, compressCommand, profileCommand, evalCommand, finetuneCommand, searchCommand];

function helpText(): string {
  return ['usage: haloc <command> [options]', '', 'commands:', ...commands.map((c) => `  ${c.name.padEnd(10)} ${c.summary}\n             ${c.usage}`)].join('\n');
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function runCli(argv: readonly string[], out: (text: string) => void = (t) => process.stdout.write(`${t}\n`), err: (text: string) => void = (t) => process.stderr.write(`${t}\n`)): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    out(helpText());
    return name ? 0 : 2;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    err(`haloc: unknown command '${name}'\n${helpText()}`);
    return 2;
  }
  try {
    const { positionals, values } = parseArgs({ args: [...rest], options: command.options, allowPositionals: true, strict: true });
    await command.run({ positionals, values, print: out });
    return 0;
  } catch (error) {
    if (error instanceof HalocError) {
      err(`haloc ${name}: ${error.message}`);
      return 1;
    }
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err(`haloc ${name}: ${errorMessage(error)}\nusage: ${command.usage}`);
      return 2;
    }
    err(`haloc ${name}: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return 70;
  }
}
