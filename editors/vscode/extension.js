// Starts `triage lsp` (the language server of triage-dsl) for .triage and .scenarios files.
// Plain JavaScript: no build step. Needs `npm install` once for vscode-languageclient.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const settings = vscode.workspace.getConfiguration("triage.server");
  const command = settings.get("command", "triage");
  const args = settings.get("args", ["lsp"]);
  const server = { command, args, transport: TransportKind.stdio };
  client = new LanguageClient(
    "triage",
    "Triage language server",
    { run: server, debug: server },
    { documentSelector: [{ scheme: "file", language: "triage" }] }
  );
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
