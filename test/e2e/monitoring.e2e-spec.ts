import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { HttpPeer } from '../support/http-peers';
import { exposedSeries, promqlReferences } from '../support/promql';
import { createSubAccount, TestApp } from '../support/test-app';
import { until } from '../support/wait';
import { WebhookReceiver } from '../support/webhook-receiver';

const DOCKER = join(__dirname, '..', '..', 'docker');
const read = (path: string): string => readFileSync(join(DOCKER, path), 'utf8');
const yamlFile = (path: string): unknown => parse(read(path), { uniqueKeys: true, merge: true });

/** Grafana's interval variables stand for a duration; the others (`$job`) only ever appear inside label values. */
const withGrafanaIntervals = (expr: string): string => expr.replace(/\$\{?__(rate_interval|interval|range)\}?/g, '5m');

/** Series Prometheus adds to every target itself, not in /metrics. */
const SYNTHETIC = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added']);

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { expr?: string; datasource?: { uid: string } }[];
  panels?: Panel[];
}

interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown }[] };
}

/**
 * docker/grafana/otpgate.json and docker/prometheus/alerts.yml, checked against the /metrics of a
 * running app after the traffic that makes each labelled series exist: every metric they query is
 * exported, and every label they filter or group by is on it (or is one Prometheus adds to the
 * target). Renaming a metric or a label without them fails here.
 */
describe('dashboard and alert rules', () => {
  let app: TestApp;
  let sms: HttpPeer;
  let receiver: WebhookReceiver;
  let series: Map<string, Set<string>>;
  let types: Map<string, string>;

  const dashboard = JSON.parse(read('grafana/otpgate.json')) as Dashboard;
  const rules = yamlFile('prometheus/alerts.yml') as { groups: { name: string; rules: Record<string, unknown>[] }[] };
  const prometheus = yamlFile('prometheus/prometheus.yml') as {
    rule_files: string[];
    scrape_configs: { job_name: string; static_configs: { targets: string[]; labels?: Record<string, string> }[] }[];
  };
  const targetLabels = new Set(['job', 'instance', ...prometheus.scrape_configs.flatMap((job) => job.static_configs.flatMap((config) => Object.keys(config.labels ?? {})))]);

  const scrape = async (): Promise<string> => (await app.http().get('/metrics').set('Authorization', 'Bearer scrape-me').expect(200)).text;

  beforeAll(async () => {
    sms = await HttpPeer.start();
    receiver = await WebhookReceiver.start();
    app = await TestApp.start({ env: { SMS_PROVIDER: 'http', SMS_HTTP_URL: sms.url, METRICS_TOKEN: 'scrape-me' } });
    const send = (as: { sid: string; token: string }, to: string) => app.http(as).post('/2fa/send').send({ service: '2FA', from: 'OTPGATE', to, body: 'Code {code}' });

    // A send delivered and verified, with a webhook endpoint to tell of it.
    await app.http(app.root).post('/2fa/webhooks').send({ url: receiver.url, events: ['otp.verified'] }).expect(200);
    const requestId = (await send(app.root, '+12055550701').expect(200)).body.requestID as string;
    const [delivered] = await sms.waitForRequests(1);
    const code = /\d{6}/.exec((delivered.json as { text: string }).text)![0];
    await app.http(app.root).post('/2fa/verify').send({ requestId, code }).expect(200);
    // Refused by the default limit, by a destination control, and (dry-run) by the fraud guard.
    expect((await send(app.root, '+12055550701')).body.code).toBe(453);
    expect((await send(app.root, '+19005551234').expect(403)).body.code).toBe(483);
    const pumped = await createSubAccount(app, app.root, 'pumped');
    await app.http(pumped).put('/2fa/settings').send({ testMode: true, fraudGuard: { mode: 'dry-run', minSends: 2, minConversion: 0.5 } }).expect(200);
    for (const to of ['+12105550701', '+12105550702', '+12105550703']) await send(pumped, to).expect(200);
    await app.http({ sid: app.root.sid, token: 'wrong-token' }).get(`/accounts/${app.root.sid}`).expect(401);

    const text = await until(scrape, (metrics) => metrics.includes('otpgate_webhook_deliveries_total{outcome="delivered"}') && metrics.includes('otpgate_fraud_blocks_total{'));
    ({ series, types } = exposedSeries(text));
  });

  afterAll(async () => {
    await app.close();
    await sms.close();
    await receiver.close();
  });

  /** What is wrong with an expression's metrics and labels, as sentences naming `where`. */
  const problemsOf = (where: string, expr: string): string[] => {
    const references = promqlReferences(withGrafanaIntervals(expr));
    const problems = references.errors.map((error) => `${where}: syntax error ${error}`);
    const labelsOf = (metric: string): Set<string> | undefined => (SYNTHETIC.has(metric) ? new Set(targetLabels) : series.get(metric));
    for (const { metric, labels } of references.selections) {
      const exported = labelsOf(metric);
      if (!exported) {
        problems.push(`${where}: ${metric || '(no metric name)'} is not exported${hint(metric)}`);
        continue;
      }
      for (const label of labels) if (!exported.has(label) && !targetLabels.has(label)) problems.push(`${where}: ${metric} has no label ${label}`);
    }
    for (const { clause, labels, metrics } of references.groupings) {
      const available = new Set([...targetLabels, ...metrics.flatMap((metric) => [...(labelsOf(metric) ?? [])])]);
      for (const label of labels) if (!available.has(label)) problems.push(`${where}: "${clause}" names ${label}, which none of ${metrics.join(', ')} has`);
    }
    return problems;
  };

  /** A histogram is queried through its series, a counter by its `_total` name. */
  const hint = (metric: string): string => {
    if (types.get(metric) === 'histogram') return ` (a histogram: query ${metric}_bucket, _sum or _count)`;
    if (types.get(`${metric}_total`) === 'counter') return ` (a counter: query ${metric}_total)`;
    return '';
  };

  const allPanels = (panels: Panel[]): Panel[] => panels.flatMap((panel) => [panel, ...allPanels(panel.panels ?? [])]);

  it('exports the labelled series the checks below need', () => {
    // Guards the traffic above: a family without samples cannot show its labels.
    for (const name of ['otpgate_otps_total', 'otpgate_deliveries_total', 'otpgate_limiter_blocks_total', 'otpgate_send_refusals_total', 'otpgate_fraud_blocks_total', 'otpgate_webhook_deliveries_total', 'otpgate_http_request_duration_seconds_bucket', 'otpgate_queue_jobs', 'otpgate_queue_oldest_waiting_seconds']) {
      expect([name, series.has(name)]).toEqual([name, true]);
    }
  });

  it('finds a metric renamed, a label that is not there and an expression that does not parse', () => {
    expect(problemsOf('q', 'sum by (channel) (rate(otpgate_otps_total{event="sent"}[$__rate_interval]))')).toEqual([]);
    expect(problemsOf('q', 'rate(otpgate_otp_total[5m])')).toEqual(['q: otpgate_otp_total is not exported']);
    expect(problemsOf('q', 'rate(otpgate_otps[5m])')).toEqual(['q: otpgate_otps is not exported (a counter: query otpgate_otps_total)']);
    expect(problemsOf('q', 'histogram_quantile(0.5, rate(otpgate_http_request_duration_seconds[5m]))')[0]).toMatch(/a histogram: query otpgate_http_request_duration_seconds_bucket/);
    expect(problemsOf('q', 'otpgate_deliveries_total{result="failed"}')).toEqual(['q: otpgate_deliveries_total has no label result']);
    expect(problemsOf('q', 'sum by (country) (otpgate_limiter_blocks_total)')).toEqual(['q: "by (country)" names country, which none of otpgate_limiter_blocks_total has']);
    expect(problemsOf('q', 'otpgate_queue_jobs / on (provider) otpgate_queue_oldest_waiting_seconds')).toHaveLength(1);
    expect(problemsOf('q', 'up{role="api", job="otpgate"} == 0')).toEqual([]);
    expect(problemsOf('q', 'sum(rate(otpgate_otps_total[5m])))')[0]).toMatch(/^q: syntax error/);
  });

  it('has a dashboard whose every query reads exported metrics and labels, through the Prometheus data source variable', () => {
    expect(dashboard).toMatchObject({ uid: expect.any(String), title: expect.any(String), schemaVersion: expect.any(Number) });
    expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }));
    const panels = allPanels(dashboard.panels);
    expect(new Set(panels.map((panel) => panel.id)).size).toBe(panels.length);

    const problems: string[] = [];
    const queried = panels.filter((panel) => panel.type !== 'row');
    expect(queried.length).toBeGreaterThan(10);
    for (const panel of queried) {
      const where = `panel "${panel.title}"`;
      if (panel.datasource?.uid !== '${datasource}') problems.push(`${where}: data source is not \${datasource}`);
      if (!panel.targets?.length) problems.push(`${where}: no query`);
      for (const target of panel.targets ?? []) {
        if (!target.expr) problems.push(`${where}: a target without expr`);
        else problems.push(...problemsOf(where, target.expr));
        if (target.datasource && target.datasource.uid !== '${datasource}') problems.push(`${where}: a target's data source is not \${datasource}`);
      }
    }
    for (const variable of dashboard.templating.list.filter((item) => item.type === 'query')) {
      const where = `variable $${variable.name}`;
      const query = typeof variable.query === 'string' ? variable.query : (variable.query as { query: string }).query;
      // Grafana's label_values(selector, label): the selector is PromQL, the label must be on its metric.
      const labelValues = /^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(query);
      if (!labelValues) {
        problems.push(`${where}: not label_values(selector, label): ${query}`);
        continue;
      }
      problems.push(...problemsOf(where, labelValues[1]));
      const metric = promqlReferences(labelValues[1]).selections[0]?.metric;
      if (metric && !series.get(metric)?.has(labelValues[2]) && !targetLabels.has(labelValues[2])) problems.push(`${where}: ${metric} has no label ${labelValues[2]}`);
    }
    expect(problems).toEqual([]);
  });

  it('has alerting rules of the shape Prometheus loads, each reading exported metrics and labels', () => {
    expect(prometheus.rule_files).toContain('/etc/prometheus/alerts.yml');
    expect(rules.groups.length).toBeGreaterThan(0);
    expect(new Set(rules.groups.map((group) => group.name)).size).toBe(rules.groups.length);

    const problems: string[] = [];
    const alerts: string[] = [];
    for (const group of rules.groups) {
      expect(group).toEqual({ name: expect.any(String), rules: expect.any(Array) });
      for (const rule of group.rules) {
        const where = `rule ${String(rule.alert)}`;
        alerts.push(String(rule.alert));
        expect(Object.keys(rule).filter((key) => !['alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations'].includes(key))).toEqual([]);
        expect(rule).toEqual({
          alert: expect.stringMatching(/^[A-Z][A-Za-z0-9]+$/),
          expr: expect.any(String),
          for: expect.stringMatching(/^(\d+(ms|s|m|h|d|w|y))+$/),
          labels: expect.objectContaining({ severity: expect.stringMatching(/^(critical|warning|info)$/) }),
          annotations: expect.objectContaining({ summary: expect.stringMatching(/\S/), description: expect.stringMatching(/\S/) }),
        });
        problems.push(...problemsOf(where, rule.expr as string));
      }
    }
    expect(new Set(alerts).size).toBe(alerts.length);
    expect(problems).toEqual([]);
  });

  it('is wired into the compose file as the monitoring profile, scraping the api and the worker on METRICS_PORT', () => {
    const compose = yamlFile('compose.yaml') as { services: Record<string, { image?: string; profiles?: string[]; environment?: Record<string, string> }> };
    for (const name of ['prometheus', 'grafana']) {
      expect(compose.services[name].profiles).toEqual(['monitoring']);
      expect(compose.services[name].image).toMatch(/^[\w./-]+:v?\d+\.\d+\.\d+$/);
    }
    const port = compose.services.api.environment!.METRICS_PORT;
    expect(compose.services.worker.environment!.METRICS_PORT).toBe(port);
    const targets = prometheus.scrape_configs.find((job) => job.job_name === 'otpgate')!.static_configs.flatMap((config) => config.targets);
    expect(targets.sort()).toEqual([`api:${port}`, `worker:${port}`]);
  });
});
