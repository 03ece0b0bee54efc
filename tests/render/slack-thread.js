// Renders a Slack app's incident thread from the golden bodies
// (tests/golden/slack-app-{parent,reply,recovery,resolved}.json) the way
// Slack shows it, with slack-blockkit.js's approximation, for an incident
// someone acknowledged: the channel with the parent as the recovery
// rewrote it (the acknowledgement line kept) and its reply count, and the
// thread pane with the parent as it stood before the recovery (the
// acknowledgement line above its buttons) and the replies, the
// acknowledgement's own among them. The acknowledgement is added here as
// src/delivery/act.c adds it (a context block "dpc_status" before the
// buttons, and a plain reply); the goldens are the renderer's only.
// Writes OUT/slack-app-thread.png (light, 720 px wide).
//
// Usage: node slack-thread.js --golden DIR --out DIR
"use strict";

const fs = require("fs");
const path = require("path");
const { chromium } = require("playwright-core");
const slack = require("./slack-blockkit.js");

function load(dir, name) {
	return JSON.parse(fs.readFileSync(path.join(dir, "slack-app-" + name + ".json"), "utf8"));
}

function message(body, time) {
	return '<div class="message"><div class="avatar">dn</div><div class="content">' +
		'<div class="meta"><b>dpc-notify</b><span class="badge">APP</span><span class="time">' +
		slack.html(time) + "</span></div>" + (body.blocks || []).map(slack.block).join("\n") +
		"</div></div>";
}

// Slack shows a user id as the person's name.
const USER = "U0JANE", NAME = "jane";
const ACK_LINE = "Acknowledged by <@" + USER + "> at 02:31 UTC";

function named(text) {
	return text.split("<@" + USER + ">").join("<@" + USER + "|" + NAME + ">");
}

// body with act.c's status block: before the buttons, else at the end.
function acknowledged(body) {
	const status = { type: "context", block_id: "dpc_status",
		elements: [{ type: "mrkdwn", text: named(ACK_LINE) }] };
	const blocks = body.blocks.slice();
	const at = blocks.findIndex((b) => b.block_id === "dpc_actions");
	blocks.splice(at < 0 ? blocks.length : at, 0, status);
	return Object.assign({}, body, { blocks });
}

function page(dir, width) {
	const parent = acknowledged(load(dir, "parent")), reply = load(dir, "reply");
	const recovery = load(dir, "recovery"), resolved = acknowledged(load(dir, "resolved"));
	const ack = { blocks: [{ type: "section", text: { type: "mrkdwn",
		text: named(ACK_LINE + "; reminders stop for this incident.") } }] };
	const extra = `
.pane { border-top: 1px solid rgba(29,28,29,.13); }
.title { font: 900 15px Lato, "Helvetica Neue", Arial, sans-serif; padding: 10px 20px; border-bottom: 1px solid rgba(29,28,29,.13); }
.title span { font-weight: 400; color: #616061; margin-left: 6px; }
.replies { color: #1264a3; font-size: 13px; font-weight: 700; margin: -8px 0 8px 64px; }
.count { color: #616061; font-size: 13px; padding: 0 20px; display: flex; align-items: center; gap: 8px; }
.count:after { content: ""; flex: 1; border-top: 1px solid rgba(29,28,29,.13); }
.also { color: #616061; font-size: 12px; margin: 0 0 -6px 64px; }
`;
	return "<!doctype html><html><head><meta charset=\"utf-8\"><style>" + slack.css("light", width) +
		extra + "</style></head><body><div id=\"shot\" style=\"width:" + width + "px\">" +
		'<div class="title"># data-alerts<span>channel, after the recovery</span></div>' +
		message(resolved, "2:14 AM") + '<div class="replies">3 replies</div>' +
		'<div class="pane"><div class="title">Thread<span># data-alerts, before the recovery</span></div>' +
		message(parent, "2:14 AM") + '<div class="count">3 replies</div>' +
		message(ack, "2:31 AM") + message(reply, "3:14 AM") +
		(recovery.reply_broadcast ? '<div class="also">Also sent to # data-alerts</div>' : "") +
		message(recovery, "4:14 AM") + "</div></div></body></html>";
}

async function main() {
	const a = {};
	for (let i = 2; i < process.argv.length; i += 2)
		a[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
	if (!a.golden || !a.out)
		throw new Error("usage: slack-thread.js --golden DIR --out DIR");
	const browser = await chromium.launch({ executablePath: "/usr/bin/chromium" });
	try {
		const p = await browser.newPage({ viewport: { width: 720, height: 900 }, deviceScaleFactor: 2,
			timezoneId: "UTC", locale: "en-US" });
		await p.route("**/*", (route) => route.abort());
		await p.setContent(page(a.golden, 720));
		const out = path.join(a.out, "slack-app-thread.png");
		await p.locator("#shot").screenshot({ path: out });
		console.log("screenshots: wrote " + out);
	} finally {
		await browser.close();
	}
}

main().catch((e) => {
	console.error(e.stack || String(e));
	process.exit(1);
});
