// GET and HEAD /explorer/<version>/<file>: GraphiQL's files, served from the
// installed @graphql-yoga/graphiql package (no CDN), cached for a year, since
// a path names one version of one file for good.
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, realpathSync } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { gzip as gzipCallback, constants as zlib } from 'node:zlib';
import { z } from 'zod';
import { sendError } from './respond.js';

const gzip = promisify(gzipCallback);

/** Every asset path starts with this, then the package's version. */
export const EXPLORER_ASSETS_PREFIX = '/explorer/';

const ALLOWED = 'GET, HEAD';

/** The only file types served; any other file in the folder is not found. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** A versioned path names the same bytes for ever. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

export interface GraphiqlPackage {
  readonly version: string;
  /** The package's `dist` folder, as a real path (symbolic links resolved). */
  readonly dist: string;
}

const packageJson = z.object({
  // It becomes a path segment: digits, letters, dots, `+` and `-` only.
  version: z.string().regex(/^[0-9A-Za-z.+-]+$/, 'must be a plain version such as 4.5.0'),
});

let located: GraphiqlPackage | undefined;

/** Where the installed package is and its version; read once, as it cannot change while the process runs. */
export function graphiqlPackage(): GraphiqlPackage {
  if (!located) {
    const manifest = createRequire(import.meta.url).resolve('@graphql-yoga/graphiql/package.json');
    const { version } = packageJson.parse(JSON.parse(readFileSync(manifest, 'utf8')));
    // Real paths, so containment is checked on what the files really are (node_modules may be linked).
    located = { version, dist: realpathSync(join(dirname(manifest), 'dist')) };
  }
  return located;
}

/** The URL path of a file of the package's dist folder, e.g. `/explorer/4.5.0/graphiql.css`. */
export function assetPath(file: string): string {
  return `${EXPLORER_ASSETS_PREFIX}${graphiqlPackage().version}/${file.split('/').map(encodeURIComponent).join('/')}`;
}

interface CachedAsset {
  readonly size: number;
  /** Strong validator of the file's bytes. */
  readonly etag: string;
  /** Compressed the first time a client that accepts gzip needs the bytes, then kept. */
  gzipped: Promise<Buffer> | undefined;
}

/** Whether an Accept-Encoding header accepts gzip (`gzip;q=0` refuses it). */
export function acceptsGzip(header: string | undefined): boolean {
  let star: boolean | undefined;
  for (const part of (header ?? '').split(',')) {
    const [coding = '', ...parameters] = part.split(';').map((piece) => piece.trim().toLowerCase());
    const q = parameters.find((parameter) => parameter.startsWith('q='));
    const accepted = q === undefined || Number(q.slice(2)) > 0;
    if (coding === 'gzip' || coding === 'x-gzip') return accepted;
    if (coding === '*') star = accepted;
  }
  return star ?? false;
}

/** Whether If-None-Match names `etag` (weak comparison, as RFC 9110 asks for it). */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || opaque(tag) === etag);
}

/**
 * The real path of `file` (URL-decoded, relative to `dist`) when it is a
 * regular file inside `dist` of a type served here; undefined otherwise.
 */
async function resolveInside(dist: string, file: string): Promise<string | undefined> {
  if (file === '' || file.includes('\0') || file.includes('\\') || !(extname(file) in CONTENT_TYPES)) return undefined;
  const inside = (path: string) => {
    const rest = relative(dist, path);
    return rest !== '' && !rest.startsWith(`..${sep}`) && rest !== '..' && !isAbsolute(rest);
  };
  const candidate = resolve(dist, file);
  if (!inside(candidate)) return undefined;
  try {
    // A symbolic link inside the folder must not lead out of it.
    const real = await realpath(candidate);
    if (!inside(real) || !(await stat(real)).isFile()) return undefined;
    return real;
  } catch {
    return undefined;
  }
}

/** The file a request path names, when it is one this route serves (this version, inside `dist`). */
async function requestedFile(pathname: string): Promise<string | undefined> {
  const { version, dist } = graphiqlPackage();
  const versionPrefix = `${EXPLORER_ASSETS_PREFIX}${version}/`;
  if (!pathname.startsWith(versionPrefix)) return undefined;
  try {
    return await resolveInside(dist, decodeURIComponent(pathname.slice(versionPrefix.length)));
  } catch {
    // Malformed percent-encoding.
    return undefined;
  }
}

export function explorerAssetsRoute(enabled: boolean) {
  // The folder's files, once each was asked for: bounded by what the package holds.
  const cache = new Map<string, Promise<CachedAsset>>();
  const load = (path: string): Promise<CachedAsset> => {
    let asset = cache.get(path);
    if (!asset) {
      asset = readFile(path).then((bytes) => ({
        size: bytes.length,
        etag: `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 32)}"`,
        gzipped: undefined,
      }));
      // A failed read is not kept: the next request tries again.
      asset.catch(() => cache.delete(path));
      cache.set(path, asset);
    }
    return asset;
  };
  const compressed = (path: string, asset: CachedAsset): Promise<Buffer> => {
    if (!asset.gzipped) {
      const gzipped = readFile(path).then((bytes) => gzip(bytes, { level: zlib.Z_BEST_COMPRESSION }));
      gzipped.catch(() => (asset.gzipped = undefined));
      asset.gzipped = gzipped;
    }
    return asset.gzipped;
  };

  return async (request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> => {
    if (!enabled) {
      sendError(response, 404, 'NOT_FOUND', 'The API explorer is turned off on this gateway (EXPLORER_ENABLED=false)');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      sendError(response, 405, 'METHOD_NOT_ALLOWED', `Method not allowed: use ${ALLOWED}`, { allow: ALLOWED });
      return;
    }
    const { version } = graphiqlPackage();
    const path = await requestedFile(url.pathname);
    if (!path) {
      sendError(response, 404, 'NOT_FOUND', `No such explorer file: this gateway serves GraphiQL ${version}`);
      return;
    }
    const asset = await load(path);
    const headers: Record<string, string> = {
      'cache-control': IMMUTABLE,
      'content-type': CONTENT_TYPES[extname(path)] ?? 'application/octet-stream',
      'x-content-type-options': 'nosniff',
      // Origin: an answer to a cross-origin page carries CORS headers (src/http/cors.ts).
      vary: 'Accept-Encoding, Origin',
    };
    const useGzip = acceptsGzip(request.headers['accept-encoding']);
    // Each encoding is a representation of its own, with a validator of its own.
    const etag = useGzip ? `${asset.etag.slice(0, -1)}-gzip"` : asset.etag;
    if (matches(request.headers['if-none-match'], etag)) {
      response.writeHead(304, { ...headers, etag });
      response.end();
      return;
    }
    if (useGzip) {
      const body = await compressed(path, asset);
      response.writeHead(200, { ...headers, etag, 'content-encoding': 'gzip', 'content-length': body.length });
      response.end(request.method === 'HEAD' ? undefined : body);
      return;
    }
    response.writeHead(200, { ...headers, etag, 'content-length': asset.size });
    if (request.method === 'HEAD') {
      response.end();
      return;
    }
    // Uncompressed answers are rare (browsers accept gzip): read from disk
    // rather than keep every file's bytes in memory too.
    await pipeline(createReadStream(path), response).catch(() => {
      // The client left, or the read failed after the headers went out:
      // pipeline has destroyed the response, which is all there is to do.
    });
  };
}
