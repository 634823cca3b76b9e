/** Public API of src/report: run reports and benchmark tables. */
export { writeReport, renderReport } from './write-report.js';
export { readRunDir, checkRunDir, readSummary, type RunData, type RunConfigFile } from './run-data.js';
export { RunDirError } from './run-dir-error.js';
export { readGapsCsv, type GapRow } from './gaps-csv.js';
export { aggregateBench, benchCsv, benchEntries, benchMarkdown, writeBenchOutputs, type BenchEntry, type BenchRow, type Stat } from './bench-table.js';
