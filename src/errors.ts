/**
 * The one table of error codes. A code is permanent; its message may change.
 * Every error the product answers with, logs or exits on is an AppError with one of these codes
 * (fastify lib/errors.js, node lib/internal/errors.js). `docs/errors.md` lists them; a test checks it.
 */
export const ERRORS = {
  FG_CONFIG_INVALID: { status: 500, message: 'invalid config' },
  FG_NO_FARM: { status: 404, message: 'no farm for this host' },
  FG_FILTERED: { status: 404, message: 'not found' },
  FG_BAD_PATH: { status: 400, message: 'bad request path' },
  FG_INTERNAL_FILE: { status: 404, message: 'not found' },
  FG_URL_TOO_LONG: { status: 414, message: 'request URL too long' },
  FG_HEADERS_TOO_LARGE: { status: 431, message: 'request headers too large' },
  FG_RENDER_UNREACHABLE: { status: 502, message: 'render unreachable' },
  FG_RENDER_TIMEOUT: { status: 504, message: 'render timed out' },
  FG_RENDER_BAD_RESPONSE: { status: 502, message: 'render sent a bad response' },
  FG_FLUSH_FORBIDDEN: { status: 403, message: 'flush not allowed from this client' },
  FG_FLUSH_BAD_ACTION: { status: 400, message: 'unknown CQ-Action' },
  FG_FLUSH_NO_HANDLE: { status: 400, message: 'missing CQ-Handle and CQ-Path' },
  FG_FLUSH_BAD_HANDLE: { status: 400, message: 'invalid handle' },
  FG_FLUSH_BAD_SCOPE: { status: 400, message: 'unknown CQ-Action-Scope' },
  FG_FLUSH_UNROUTED: { status: 404, message: 'no farm routes this CQ-Path' },
  FG_FLUSH_BODY_TOO_LARGE: { status: 413, message: 'flush body too large' },
  FG_FLUSH_BODY_TIMEOUT: { status: 408, message: 'flush body not received in time' },
  FG_FLUSH_TOO_MANY_URIS: { status: 413, message: 'too many refetch URIs' },
  FG_FLUSH_BAD_URI: { status: 400, message: 'invalid refetch URI' },
  FG_FLUSH_IO: { status: 500, message: 'flush could not be applied' },
  FG_FLUSH_METHOD: { status: 405, message: 'flush accepts GET and POST' },
  FG_FLUSH_NOT_RECORDED: { status: 503, message: 'flush applied locally but not recorded for the web farm' },
  FG_INVALIDATION_UNAUTHORIZED: { status: 401, message: 'invalidation request not signed, or signed wrongly' },
  FG_INVALIDATION_BAD_REQUEST: { status: 400, message: 'malformed invalidation request' },
  FG_INVALIDATION_TOO_LARGE: { status: 413, message: 'invalidation request body too large' },
  FG_INVALIDATION_METHOD: { status: 405, message: 'invalidation requests are POSTs' },
  FG_WEBHOOK_UNKNOWN: { status: 404, message: 'no webhook of that name' },
  FG_WEBHOOK_UNAUTHORIZED: { status: 401, message: 'webhook could not be verified' },
  FG_WEBHOOK_BAD_REQUEST: { status: 400, message: 'webhook payload not understood' },
  FG_ADMIN_BAD_INPUT: { status: 400, message: 'bad admin request' },
  FG_ADMIN_UNAUTHORIZED: { status: 401, message: 'admin token required' },
  FG_ADMIN_UNAVAILABLE: { status: 503, message: 'admin data unavailable' },
  // Start-up failures: printed as one line by `farmgate serve`, which then exits 1; never an HTTP answer.
  FG_LISTEN_FAILED: { status: 500, message: 'cannot listen', startup: true },
  FG_DOCROOT_UNWRITABLE: { status: 500, message: 'docroot not writable', startup: true },
} as const satisfies Record<string, { status: number; message: string; startup?: boolean }>;

export type ErrorCode = keyof typeof ERRORS;

export class AppError extends Error {
  override name = 'AppError';
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERRORS[code].message, options);
    this.code = code;
    this.status = ERRORS[code].status;
  }
}

export interface ConfigProblem {
  file: string;
  line: number;
  col: number;
  /** Dotted key path, list indices as numbers: `farms.0.cache.rules.1.allow`. */
  path: string;
  message: string;
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line}:${p.col} ${p.path ? p.path + ': ' : ''}${p.message}`;
}

export class ConfigError extends AppError {
  override name = 'ConfigError';
  readonly problems: readonly ConfigProblem[];

  constructor(file: string, problems: ConfigProblem[]) {
    super('FG_CONFIG_INVALID', `${file}: ${problems.length} problem(s)\n${problems.map(formatProblem).join('\n')}`);
    this.problems = problems;
  }
}
