#!/usr/bin/env node
/** The `mmgap` executable. */
import { runCli } from './cli.js';
import { nodeIo } from './io.js';

process.exitCode = await runCli(process.argv.slice(2), nodeIo());
