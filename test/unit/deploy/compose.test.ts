import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/* No Docker engine here: the deployment files are checked for the structure a `docker compose up` relies on. */

const root = join(__dirname, '..', '..', '..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { image?: string; build?: string; command?: string[]; environment?: Record<string, string>; healthcheck?: { test: string[] }; volumes?: string[]; depends_on?: Record<string, { condition: string }>; deploy?: { replicas: number }; ports?: string[]; profiles?: string[] }>;
  volumes: Record<string, unknown>;
};

describe('docker-compose.yml', () => {
  test('has Kafka (KRaft), Redis and PostgreSQL with health checks and volumes', () => {
    const { kafka, redis, postgres } = compose.services;
    expect(kafka.image).toMatch(/^apache\/kafka:3\.9/);
    expect(kafka.environment).toMatchObject({ KAFKA_PROCESS_ROLES: 'broker,controller', KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false', KAFKA_LOG_RETENTION_MS: '-1' });
    for (const infra of [kafka, redis, postgres]) {
      expect(infra.healthcheck?.test.length).toBeGreaterThan(0);
      expect(infra.volumes?.length).toBeGreaterThan(0);
    }
    for (const v of [...kafka.volumes!, ...redis.volumes!, ...postgres.volumes!]) expect(Object.keys(compose.volumes)).toContain(v.split(':')[0]);
  });

  test.each(['api', 'poller', 'projector', 'importer'])('runs the %s role on the production backends, after the infrastructure is healthy', (role) => {
    const service = compose.services[role];
    expect(service.command).toEqual([role]);
    expect(service.build).toBe('.');
    expect(service.environment).toMatchObject({ KAFKA_BROKERS: 'kafka:9092', REDIS_URL: expect.stringMatching(/^redis:\/\/redis:6379/), DATABASE_URL: expect.stringMatching(/@postgres:5432\//) });
    expect(service.environment?.LOADBALANCER_SECRET).toMatch(/^\$\{LOADBALANCER_SECRET:\?/);
    expect(service.depends_on).toEqual({ kafka: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' }, postgres: { condition: 'service_healthy' } });
  });

  test('the api is published and health-checked on /health_check; poller and projector have a standby', () => {
    expect(compose.services.api.ports).toEqual(['${SCALELITE_API_PORT:-3000}:3000']);
    expect(compose.services.api.healthcheck?.test.join(' ')).toContain('/health_check');
    expect(compose.services.poller.deploy?.replicas).toBe(2);
    expect(compose.services.projector.deploy?.replicas).toBe(2);
  });

  test('the Dockerfile builds the image the roles run, with the CLI as its entry point', () => {
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20/m);
    expect(dockerfile).toContain('RUN npm run build');
    expect(dockerfile).toContain('ENTRYPOINT ["node", "bin/run.js"]');
  });
});
