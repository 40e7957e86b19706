import { generateKeyPairSync } from 'node:crypto';
import { ConfigError, loadConfig } from '../../../src/infra/config';

/*
 * Recordings in a bucket are configured with Scalelite's names and the AWS
 * SDK's; a half-made configuration stops the start with one line naming the
 * variable, instead of failing at the first import.
 */

const base = { LOADBALANCER_SECRET: 'lb-secret' };
const s3 = { ...base, S3_RECORDING: 'true', S3_BUCKET_NAME: 'recordings' };
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
const b64 = (s: string) => Buffer.from(s).toString('base64');

const storage = (env: Record<string, string>) => loadConfig(env).recordings.storage;
function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    // one line, or the schema's list of one-line problems
    const message = (err as Error).message;
    if (!message.startsWith('invalid configuration:')) expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a ConfigError');
}

describe('recording storage configuration', () => {
  test('given nothing about S3: the publish dirs, as before', () => {
    expect(storage(base)).toEqual({ kind: 'filesystem', cloudFront: null });
    expect(storage({ ...base, S3_RECORDING: 'false', S3_BUCKET_NAME: 'ignored' })).toEqual({ kind: 'filesystem', cloudFront: null });
  });

  test('given S3_RECORDING and a bucket: AWS itself, its default credential chain, us-east-1, virtual-hosted buckets', () => {
    expect(storage(s3)).toEqual({
      kind: 's3',
      s3: { bucket: 'recordings', region: 'us-east-1', endpoint: undefined, forcePathStyle: false, credentials: undefined },
      cloudFront: null,
      playback: 'stream',
      presignTtlSeconds: 300,
    });
  });

  test("given an S3-compatible endpoint and keys: path style unless told otherwise; the SDK's endpoint order", () => {
    const env = { ...s3, S3_ENDPOINT: 'http://minio:9000/', AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'secret', AWS_DEFAULT_REGION: 'eu-central-1' };
    expect(storage(env)).toMatchObject({
      s3: { endpoint: 'http://minio:9000', forcePathStyle: true, region: 'eu-central-1', credentials: { accessKeyId: 'id', secretAccessKey: 'secret' } },
    });
    expect(storage({ ...env, AWS_ENDPOINT_URL: 'https://s3.example.com', S3_FORCE_PATH_STYLE: 'false', AWS_REGION: 'garage' })).toMatchObject({
      s3: { endpoint: 'https://s3.example.com', forcePathStyle: false, region: 'garage' },
    });
    expect(storage({ ...env, AWS_ENDPOINT_URL_S3: 'https://s3-only.example.com', AWS_ENDPOINT_URL: 'https://other.example.com' })).toMatchObject({
      s3: { endpoint: 'https://s3-only.example.com' },
    });
    expect(storage({ ...s3, RECORDING_S3_PLAYBACK: 'PRESIGN', RECORDING_S3_PRESIGN_TTL: '60' })).toMatchObject({ playback: 'presign', presignTtlSeconds: 60 });
  });

  test.each([
    [{ ...base, S3_RECORDING: 'maybe' }, /^invalid configuration:\s+S3_RECORDING: expected true or false/],
    [{ ...base, S3_RECORDING: 'true' }, /^S3_BUCKET_NAME: required with S3_RECORDING/],
    [{ ...s3, S3_BUCKET_NAME: 'My_Bucket' }, /^S3_BUCKET_NAME: not a bucket name .* got 'My_Bucket'$/],
    [{ ...s3, S3_ENDPOINT: 'minio:9000' }, /^S3_ENDPOINT: expected an http\(s\) URL, got 'minio:9000'$/],
    [{ ...s3, AWS_ENDPOINT_URL: 'ftp://x' }, /^AWS_ENDPOINT_URL: expected an http\(s\) URL/],
    [{ ...s3, S3_FORCE_PATH_STYLE: 'sometimes' }, /^S3_FORCE_PATH_STYLE: expected true or false/],
    [{ ...s3, AWS_ACCESS_KEY_ID: 'id' }, /^AWS_SECRET_ACCESS_KEY: required with AWS_ACCESS_KEY_ID$/],
    [{ ...s3, AWS_REGION: 'EU WEST' }, /^AWS_REGION: not a region name/],
    [{ ...s3, RECORDING_S3_PLAYBACK: 'nginx' }, /^invalid configuration:\s+RECORDING_S3_PLAYBACK: expected stream or presign, got 'nginx'$/],
    [{ ...base, CF_KEY_PAIR_ID: 'K1' }, /^CF_KEY_PAIR_ID: set, but CLOUDFRONT_URL is not/],
    [{ ...base, CLOUDFRONT_URL: 'https://d1.cloudfront.net' }, /^CF_KEY_PAIR_ID: required with CLOUDFRONT_URL/],
    [{ ...base, CLOUDFRONT_URL: 'https://d1.cloudfront.net', CF_KEY_PAIR_ID: 'K1' }, /^CF_PRIVATE_KEY_B64: required with CLOUDFRONT_URL/],
    [
      { ...base, CLOUDFRONT_URL: 'https://d1.cloudfront.net', CF_KEY_PAIR_ID: 'K1', CF_PRIVATE_KEY_B64: b64('not a key') },
      /^CF_PRIVATE_KEY_B64: not the base64 of a PEM private key/,
    ],
    [{ ...base, CLOUDFRONT_URL: 'd1.cloudfront.net', CF_KEY_PAIR_ID: 'K1', CF_PRIVATE_KEY_B64: b64(rsa.privateKey) }, /^CLOUDFRONT_URL: expected an http\(s\) URL/],
  ])('refused: %j', (env, message) => {
    expect(refusal(env)).toMatch(message);
  });

  test('given CloudFront: its URL without the trailing slash, and the key', () => {
    const cf = storage({ ...s3, CLOUDFRONT_URL: 'https://d1.cloudfront.net/', CF_KEY_PAIR_ID: 'K2JCJMDEHXQW5F', CF_PRIVATE_KEY_B64: b64(rsa.privateKey) }).cloudFront;
    expect(cf).toMatchObject({ url: 'https://d1.cloudfront.net', keyPairId: 'K2JCJMDEHXQW5F', privateKeyPem: rsa.privateKey });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256', privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    expect(refusal({ ...base, CLOUDFRONT_URL: 'https://d1.cloudfront.net', CF_KEY_PAIR_ID: 'K1', CF_PRIVATE_KEY_B64: b64(ec.privateKey) })).toMatch(
      /CloudFront signs with RSA keys, this one is ec/,
    );
  });
});
