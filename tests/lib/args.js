// Command-line options of the scripts in tests/ (the benchmarks and the
// fault script): `--name value` pairs, nothing more.

/** The value given after `flag` on the command line, else `fallback`. */
export function argValue(flag, fallback) {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
