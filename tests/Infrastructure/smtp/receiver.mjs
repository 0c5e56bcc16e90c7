// A local mail server for tests: accepts every message on 127.0.0.1:<port> without TLS or auth and prints each as one
// JSON line on stdout ({ from, to, data }), where the test reads it. Stopped by closing stdin or killing the process.
// CALLMESH_SMTP_TOOLS: where the test installed its npm package.
import { createRequire } from "node:module";

const require = createRequire(process.env.CALLMESH_SMTP_TOOLS ? process.env.CALLMESH_SMTP_TOOLS + "/package.json" : import.meta.url);
const { SMTPServer } = await import(require.resolve("smtp-server"));

const port = Number(process.argv[2]);
const server = new SMTPServer({
  secure: false, disabledCommands: ["STARTTLS", "AUTH"], authOptional: true, logger: false,
  onData(stream, session, callback) {
    const chunks = [];
    stream.on("data", (c) => chunks.push(c));
    stream.on("end", () => {
      const message = { from: session.envelope.mailFrom.address, to: session.envelope.rcptTo.map((r) => r.address), data: Buffer.concat(chunks).toString("utf8") };
      process.stdout.write(JSON.stringify(message) + "\n");
      callback();
    });
  },
});
server.listen(port, "127.0.0.1", () => process.stdout.write(JSON.stringify({ listening: port }) + "\n"));
process.stdin.on("end", () => server.close(() => process.exit(0)));
process.stdin.resume();
