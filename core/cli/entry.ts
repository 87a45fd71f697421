/** Process entry of the `anneal` command (bin/anneal). */
import { runCli } from './main';

void runCli(process.argv);
