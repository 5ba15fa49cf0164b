// An independent MQTT client (the npm `mqtt` package, not libmosquitto) run
// against a custos broker to show what the broker refuses:
//   1. a client with no certificate,
//   2. a client whose certificate comes from another CA,
//   3. a client whose certificate is revoked,
//   4. a valid device publishing to another device's telemetry topic, or
//      subscribing to another device's commands topic,
// with two positive controls (the valid device connects, and its message to
// its own topic reaches the privileged observer), so that a broker that
// refuses everything fails too.
//
// usage: node mqtt_refusals.mjs CONFIG.json
// CONFIG: {"host", "port", "ca": PEM file, "servername",
//          "valid": {"id", "cert", "key"}, "revoked": {...}, "foreign": {...},
//          "observer": {"cert", "key"} (optional), "other_device": ID}
// Prints one JSON object with a result per check and exits 0 when every
// check passed, 1 otherwise, 2 on bad usage.
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';

const kTimeoutMs = 5000;

function loadConfig() {
  if (process.argv.length !== 3) {
    console.error('usage: node mqtt_refusals.mjs CONFIG.json');
    process.exit(2);
  }
  return JSON.parse(readFileSync(process.argv[2], 'utf8'));
}

// Connects with `identity` ({cert, key} files, or null for none) and resolves
// to {client, connected: true} on CONNACK 0, or {connected: false, reason}
// when the connection fails or closes first.
function connect(config, identity, clientId) {
  const options = {
    host: config.host,
    port: config.port,
    protocol: 'mqtts',
    protocolVersion: 4,
    ca: readFileSync(config.ca),
    servername: config.servername,
    rejectUnauthorized: true,
    clientId,
    reconnectPeriod: 0,
    connectTimeout: kTimeoutMs,
    clean: true,
  };
  if (identity) {
    options.cert = readFileSync(identity.cert);
    options.key = readFileSync(identity.key);
  }
  return new Promise((resolve) => {
    const client = mqtt.connect(options);
    let settled = false;
    const settle = (value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!value.connected) client.end(true);
      resolve(value);
    };
    const timer = setTimeout(() => settle({ connected: false, reason: 'timeout' }), kTimeoutMs);
    client.on('connect', () => settle({ client, connected: true }));
    client.on('error', (error) => settle({ connected: false, reason: error.message }));
    client.on('close', () => settle({ connected: false, reason: 'connection closed' }));
  });
}

function subscribe(client, topic) {
  return new Promise((resolve) => {
    client.subscribe(topic, { qos: 1 }, (error, granted) => {
      if (error) {
        resolve({ ok: false, reason: error.message });
        return;
      }
      const qos = granted && granted[0] ? granted[0].qos : 128;
      resolve({ ok: qos !== 128, qos });
    });
  });
}

function publish(client, topic, payload) {
  return new Promise((resolve) => {
    client.publish(topic, payload, { qos: 1 }, (error) => resolve(!error));
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const config = loadConfig();
  const checks = {};
  const record = (name, passed, detail) => {
    checks[name] = { passed, detail };
  };

  const none = await connect(config, null, 'npm-no-certificate');
  record('no_certificate_refused', !none.connected, none.reason || 'connected');

  const foreign = await connect(config, config.foreign, config.foreign.id);
  record('foreign_ca_refused', !foreign.connected, foreign.reason || 'connected');

  const revoked = await connect(config, config.revoked, config.revoked.id);
  record('revoked_refused', !revoked.connected, revoked.reason || 'connected');

  // The observer is the control plane's privileged identity: it sees every
  // device's telemetry. Without one (against a running custosd, whose
  // privileged key never leaves it), the caller checks what custosd received.
  const observer = config.observer
    ? await connect(config, config.observer, 'npm-observer')
    : { connected: false };
  if (config.observer) {
    record('observer_connects', observer.connected, observer.reason || 'connected');
  }
  const valid = await connect(config, config.valid, config.valid.id);
  record('valid_device_connects', valid.connected, valid.reason || 'connected');

  const ownTopic = `devices/${config.valid.id}/telemetry`;
  const otherTopic = `devices/${config.other_device}/telemetry`;
  if (valid.connected && !config.observer) {
    // Forged first, own second: the broker handles one connection in order.
    const forged = await publish(valid.client, otherTopic, 'forged reading for another device');
    const own = await publish(valid.client, ownTopic, 'own reading');
    record('publishes_acknowledged', forged && own, 'the caller checks what custosd received');
  }
  if (observer.connected && valid.connected) {
    const seen = [];
    observer.client.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString() }));
    const watched = await subscribe(observer.client, 'devices/+/telemetry');
    record('observer_subscribes', watched.ok, `granted qos ${watched.qos}`);

    await publish(valid.client, otherTopic, 'forged reading for another device');
    await publish(valid.client, ownTopic, 'own reading');
    const deadline = Date.now() + kTimeoutMs;
    while (!seen.some((m) => m.topic === ownTopic) && Date.now() < deadline) await sleep(20);
    // The broker handles one connection's packets in order: once the later
    // message arrived, the earlier forged one would have arrived before it.
    await sleep(200);
    record('own_topic_delivered', seen.some((m) => m.topic === ownTopic),
           `${seen.length} message(s) seen`);
    record('other_device_topic_refused', !seen.some((m) => m.topic === otherTopic),
           seen.map((m) => m.topic).join(', ') || 'none seen');
  }
  if (valid.connected) {
    const foreignCommands = await subscribe(valid.client,
                                            `devices/${config.other_device}/commands`);
    record('other_device_commands_subscription_refused', !foreignCommands.ok,
           foreignCommands.reason || `granted qos ${foreignCommands.qos}`);
    const wildcard = await subscribe(valid.client, 'devices/#');
    record('wildcard_subscription_refused', !wildcard.ok,
           wildcard.reason || `granted qos ${wildcard.qos}`);
  }
  for (const side of [observer, valid]) if (side.connected) side.client.end(true);

  const passed = Object.values(checks).every((check) => check.passed);
  console.log(JSON.stringify({ passed, checks }));
  process.exit(passed ? 0 : 1);
}

main().catch((error) => {
  console.error(`mqtt_refusals: ${error.stack || error}`);
  process.exit(1);
});
