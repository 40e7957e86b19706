import { isIP } from 'node:net';
import { getSignedCookies } from '@aws-sdk/cloudfront-signer';

/*
 * CloudFront playback, as Scalelite 1.6.8+ does it (docs/scalelite-behaviour.md
 * §4.5): a resource request that wants HTML gets three CloudFront signed cookies
 * (a custom policy over the recording's prefix, valid five minutes) and a 307 to
 * the recording's index.html on CLOUDFRONT_URL; CloudFront then serves every
 * file of that recording straight from the bucket.
 */

/** How long the signed cookies (and their policy) last: Scalelite's 5 minutes. */
export const CLOUDFRONT_COOKIE_TTL_MS = 5 * 60_000;

export interface CloudFrontSigner {
  url: string;
  keyPairId: string;
  privateKeyPem: string;
}

export interface CloudFrontGrant {
  /** the 307 target */
  location: string;
  /** complete Set-Cookie header values */
  cookies: string[];
  /** the signed policy, for logs and tests */
  policy: string;
}

/** `<CLOUDFRONT_URL>/<published|unpublished>/<format>/<record_id>/`: what the cookies open and where the page is. */
export const cloudFrontPrefix = (cfUrl: string, published: boolean, format: string, recordId: string): string =>
  `${cfUrl}/${published ? 'published' : 'unpublished'}/${format}/${recordId}/`;

/**
 * The cookie Domain Scalelite sets: `.` + Rails' request.domain, the last two
 * labels of the host (`lb.example.com` → `.example.com`). An IP address has no
 * parent domain: the cookie is then host-only.
 */
export function cookieDomain(hostname: string): string | null {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (!host || isIP(host)) return null;
  return `.${host.split('.').slice(-2).join('.')}`;
}

export function grantCloudFront(signer: CloudFrontSigner, opts: { published: boolean; format: string; recordId: string; hostname: string; now: Date }): CloudFrontGrant {
  const prefix = cloudFrontPrefix(signer.url, opts.published, opts.format, opts.recordId);
  const expires = new Date(opts.now.getTime() + CLOUDFRONT_COOKIE_TTL_MS);
  // The same JSON Scalelite generates (key order included), so the two sign identical policies.
  const policy = JSON.stringify({ Statement: [{ Resource: `${prefix}*`, Condition: { DateLessThan: { 'AWS:EpochTime': Math.floor(expires.getTime() / 1000) } } }] });
  const signed = getSignedCookies({ keyPairId: signer.keyPairId, privateKey: signer.privateKeyPem, policy });
  const domain = cookieDomain(opts.hostname);
  const attributes = [...(domain ? [`Domain=${domain}`] : []), 'Path=/', `Expires=${expires.toUTCString()}`, 'Secure', 'HttpOnly', 'SameSite=None'].join('; ');
  const cookies = Object.entries(signed)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${name}=${value}; ${attributes}`);
  return { location: `${prefix}index.html`, cookies, policy };
}

// "Wants HTML" as Rails decides `request.format.html?` on Scalelite's resource
// route (declared with format: false): a usable Accept header decides; a
// browser's Accept (one listing the any-type among others) does not, and then
// the path's extension does if Rails knows it; otherwise HTML. So a browser
// opening the player page or an index.html is sent to CloudFront, while its
// requests for slides, scripts and styles are not.
const BROWSER_LIKE_ACCEPT = /,\s*\*\/\*|\*\/\*\s*,/;

/** The extensions Rails registers (action_dispatch/http/mime_types.rb), with whether each is HTML. */
const RAILS_EXTENSIONS = new Set(
  (
    'html xhtml text txt js css ics csv vcf vtt png jpeg jpg jpe pjpeg gif bmp tiff tif svg webp mpeg mpg mpe mp3 mp1 mp2 ' +
    'ogg oga spx opus m4a mpg4 aac webm mp4 m4v otf ttf woff woff2 xml rss atom yaml yml multipart_form url_encoded_form json pdf zip gzip gz'
  ).split(' '),
);
const HTML_EXTENSIONS = new Set(['html', 'xhtml']);

/** The media type Rails puts first for an Accept header: by q, ties in the order given. */
function firstAccepted(accept: string): string {
  if (!accept.includes(','))
    return accept
      .split(/\s*;\s*/)[0]
      .trim()
      .toLowerCase();
  const entries = accept
    .split(',')
    .map((part, index) => {
      const [type, ...params] = part.split(';').map((s) => s.trim());
      const q = params.map((p) => /^q\s*=\s*([0-9.]+)$/i.exec(p)).find(Boolean);
      return { type: type.toLowerCase(), q: q ? Number(q[1]) : 1, index };
    })
    .filter((e) => e.type !== '');
  entries.sort((a, b) => b.q - a.q || a.index - b.index);
  return entries[0]?.type ?? '';
}

export function wantsHtml(req: { accept: string | undefined; path: string; xhr: boolean }): boolean {
  const accept = req.accept?.trim() ?? '';
  if ((accept !== '' && !BROWSER_LIKE_ACCEPT.test(accept)) || (req.xhr && accept !== '')) {
    const type = firstAccepted(accept);
    return type === '*/*' || type.includes('html');
  }
  const ext = /\.(\w+)$/.exec(req.path)?.[1];
  if (ext !== undefined && RAILS_EXTENSIONS.has(ext)) return HTML_EXTENSIONS.has(ext);
  return !req.xhr;
}
