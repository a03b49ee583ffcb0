// The `rlmesh` command. Each subcommand lives in its own file under src/cli/commands/ and is registered here.
// Usage: npx rlmesh <command> [--flags]   (npx rlmesh help lists them)
import { commands } from './commands/index.ts';

async function main(argv: string[]): Promise<number> {
  const [name = 'help', ...rest] = argv;
  if (name === 'help' || name === '--help' || name === '-h') {
    console.log('usage: rlmesh <command> [options]\n\ncommands:');
    for (const c of Object.values(commands)) console.log(`  ${c.name.padEnd(12)} ${c.summary}`);
    return 0;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    console.error(`rlmesh: unknown command "${name}". Run "rlmesh help" for the list.`);
    return 2;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    console.error(`rlmesh: ${err instanceof Error ? err.message : String(err)}`);
    if (process.env.RLMESH_DEBUG) console.error(err);
    process.exitCode = 1;
  },
);
