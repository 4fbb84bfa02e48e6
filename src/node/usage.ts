// A command line that cannot be run as given: the CLI prints the message and its usage, exit 2.
export class UsageError extends Error {
  override name = 'UsageError';
}
