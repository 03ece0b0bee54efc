#!/usr/bin/env node
// Checks a Teams webhook body (what `dpc-notify preview --format teams`
// prints) with Microsoft's Adaptive Cards library, under happy-dom so no
// browser is needed. Exit 0 when the card parses with no events, passes
// validateProperties(), keeps every property through a parse/toJSON round
// trip (so no property or value was silently dropped as unknown) and
// renders, and keeps to what Teams webhooks allow (version <= 1.5, no
// Action.Submit); exit 1 with one line per problem otherwise; exit 2 on bad
// input.
//
// Usage: node validate-card.js [FILE]      (stdin when FILE is absent or -)
//        --text   also print the rendered card's visible text
"use strict";

const fs = require("fs");
const { Window } = require("happy-dom");

// The library touches window/document and DOM classes at import and render
// time; expose happy-dom's before loading it.
const win = new Window({ url: "https://localhost/" });
for (const name of Object.getOwnPropertyNames(win)) {
	if (/^(HTML|SVG)\w*Element$|^(Node|Element|Event|KeyboardEvent|MouseEvent|document|navigator)$/.test(name) &&
	    !(name in globalThis))
		globalThis[name] = win[name];
}
globalThis.window = win;
// The dist bundle is CommonJS; the package's "main" is extensionless ESM.
const AC = require("adaptivecards/dist/adaptivecards.js");

// TextBlocks are shown as plain text here: the check is about structure,
// and leaving the hook unset only makes the library warn on stderr.
AC.AdaptiveCard.onProcessMarkdown = (text, result) => {
	result.didProcess = false;
};

const ADAPTIVE = "application/vnd.microsoft.card.adaptive";
// Teams reads these card properties; the generic library does not know them.
const HOST_ONLY = new Set(["msteams"]);
// What a Teams Workflows webhook card may use (no Action.Submit/Execute),
// and the highest card version Teams renders.
const TEAMS_ACTIONS = new Set(["Action.OpenUrl", "Action.ShowCard", "Action.ToggleVisibility"]);
const TEAMS_MAX_VERSION = [1, 5];

function readInput(path) {
	const text = fs.readFileSync(!path || path === "-" ? 0 : path, "utf8");
	const body = JSON.parse(text);
	if (body.type !== "message" || !Array.isArray(body.attachments) || body.attachments.length !== 1)
		throw new Error("not a Workflows message envelope with one attachment");
	const att = body.attachments[0];
	if (att.contentType !== ADAPTIVE || typeof att.content !== "object" || att.content === null)
		throw new Error("attachment is not an Adaptive Card");
	return att.content;
}

function eventName(e) {
	return (AC.ValidationEvent[e.event] || e.event) + " (" + (AC.ValidationPhase[e.phase] || e.phase) + ")";
}

// Every path in want must hold the same value in got, except HOST_ONLY
// keys at card level; returns the paths that differ.
function lostProperties(want, got, path, out) {
	if (want !== null && typeof want === "object") {
		for (const key of Object.keys(want)) {
			if (path === "" && HOST_ONLY.has(key))
				continue;
			const sub = path + (Array.isArray(want) ? "[" + key + "]" : "." + key);
			if (got === null || typeof got !== "object" || !(key in got))
				out.push(sub + " dropped");
			else
				lostProperties(want[key], got[key], sub, out);
		}
	} else if (want !== got) {
		out.push(path + " changed: " + JSON.stringify(want) + " -> " + JSON.stringify(got));
	}
	return out;
}

// Limits of the Teams host that the generic library does not enforce.
function teamsRules(content, problems) {
	const v = String(content.version || "").split(".").map(Number);
	if (v.length !== 2 || v.some(Number.isNaN) ||
	    v[0] > TEAMS_MAX_VERSION[0] || (v[0] === TEAMS_MAX_VERSION[0] && v[1] > TEAMS_MAX_VERSION[1]))
		problems.push("teams: card version " + JSON.stringify(content.version) + " above 1.5");
	(function walk(node) {
		if (node === null || typeof node !== "object")
			return;
		if (typeof node.type === "string" && node.type.startsWith("Action.") && !TEAMS_ACTIONS.has(node.type))
			problems.push("teams: " + node.type + " is not allowed in webhook cards");
		Object.values(node).forEach(walk);
	})(content);
}

function check(content) {
	const problems = [];
	const card = new AC.AdaptiveCard();
	const ctx = new AC.SerializationContext();

	card.parse(content, ctx);
	for (let i = 0; i < ctx.eventCount; i++) {
		const e = ctx.getEventAt(i);
		problems.push("parse: " + eventName(e) + ": " + e.message);
	}
	for (const e of card.validateProperties().validationEvents)
		problems.push("validate: " + eventName(e) + ": " + e.message);
	for (const p of lostProperties(content, card.toJSON(), "", []))
		problems.push("round trip: card" + p);
	teamsRules(content, problems);
	const el = card.render();
	if (!el)
		problems.push("render: no element");
	return { problems, text: el ? el.textContent : "" };
}

function main() {
	const args = process.argv.slice(2);
	const showText = args.includes("--text");
	const files = args.filter((a) => a !== "--text");
	let content;

	try {
		content = readInput(files[0]);
	} catch (e) {
		console.error("validate-card: " + e.message);
		return 2;
	}
	const { problems, text } = check(content);
	for (const p of problems)
		console.log("ERROR " + p);
	if (showText)
		console.log(text);
	console.log(problems.length ? "card: " + problems.length + " problem(s)" : "card: ok");
	return problems.length ? 1 : 0;
}

process.exitCode = main();
