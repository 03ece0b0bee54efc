#!/usr/bin/env node
// Checks that every piece of text on dpc-notify's Teams cards can be read in
// both Teams themes: for each TextBlock, RichTextBlock run and FactSet title
// and value it resolves the foreground colour (color, isSubtle, heading
// style) and the background (the nearest Container/Column/ColumnSet/
// TableCell style, the emphasis style of an Action.ShowCard card) in the
// light and dark host configs beside this file, and computes the WCAG 2.x
// contrast ratio. Any text below 4.5:1 (AA for normal text; none of our text
// is large enough for the 3:1 rule) is listed and the exit status is 1.
// The host configs carry the colours of Microsoft's Adaptive Cards designer
// for Teams (microsoft/AdaptiveCards samples/HostConfig/microsoft-teams-
// light.json and -dark.json); their "$comment" says what differs.
//
// Usage: node contrast.js [FILE...]   (default: tests/golden/teams-*.json)
//        node contrast.js --self-test (proves the check catches a bad card)
// Exit 0 all readable, 1 some text below 4.5:1, 2 bad input.
"use strict";

const fs = require("fs");
const path = require("path");

const MIN_RATIO = 4.5;
const THEMES = ["light", "dark"];
const STYLED = new Set(["Container", "Column", "ColumnSet", "TableCell", "Table"]);
const STYLES = new Set(["default", "emphasis", "good", "attention", "warning", "accent"]);
const COLORS = new Set(["default", "dark", "light", "accent", "good", "warning", "attention"]);

function loadHost(theme) {
	return JSON.parse(fs.readFileSync(path.join(__dirname, "teams-host-" + theme + ".json"), "utf8"));
}

// "#RGB", "#RRGGBB" or "#AARRGGBB" (alpha first, as the adaptivecards
// library reads it) to {r, g, b, a} with channels 0..255 and a 0..1.
function parseColor(s) {
	const m = /^#([0-9a-f]{3}|[0-9a-f]{6}|[0-9a-f]{8})$/i.exec(String(s).trim());
	if (!m)
		throw new Error("unreadable colour " + JSON.stringify(s));
	let h = m[1];
	if (h.length === 3)
		h = h.split("").map((c) => c + c).join("");
	let a = 1;
	if (h.length === 8) {
		a = parseInt(h.slice(0, 2), 16) / 255;
		h = h.slice(2);
	}
	return { r: parseInt(h.slice(0, 2), 16), g: parseInt(h.slice(2, 4), 16), b: parseInt(h.slice(4, 6), 16), a };
}

// A translucent colour as it shows over an opaque one.
function over(top, under) {
	const mix = (t, u) => Math.round(t * top.a + u * (1 - top.a));
	return { r: mix(top.r, under.r), g: mix(top.g, under.g), b: mix(top.b, under.b), a: 1 };
}

function hex(c) {
	return "#" + [c.r, c.g, c.b].map((v) => v.toString(16).padStart(2, "0")).join("");
}

// WCAG 2.x relative luminance and contrast ratio.
function luminance(c) {
	const lin = (v) => {
		const s = v / 255;
		return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
	};
	return 0.2126 * lin(c.r) + 0.7152 * lin(c.g) + 0.0722 * lin(c.b);
}

function ratio(a, b) {
	const la = luminance(a);
	const lb = luminance(b);
	return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

function lower(v, fallback) {
	return typeof v === "string" && v !== "" ? v.toLowerCase() : fallback;
}

// Collects every text of a card: {where, text, color, subtle, style}, where
// style is the effective container style name.
function texts(card, host) {
	const out = [];
	const showCardStyle = lower(((host.actions || {}).showCard || {}).style, "emphasis");
	const heading = (host.textStyles || {}).heading || {};
	const fact = host.factSet || {};

	function add(where, text, color, subtle, style) {
		out.push({ where, text: String(text), color: lower(color, "default"), subtle: subtle === true, style });
	}

	function walk(node, where, style) {
		if (Array.isArray(node)) {
			node.forEach((n, i) => walk(n, where + "[" + i + "]", style));
			return;
		}
		if (node === null || typeof node !== "object")
			return;
		const type = node.type;
		let inner = style;
		if (STYLED.has(type) && typeof node.style === "string" && node.style !== "")
			inner = node.style.toLowerCase();
		const at = where + (type ? "<" + type + ">" : "");
		if (type === "TextBlock") {
			const isHeading = lower(node.style, "") === "heading";
			add(at, node.text, node.color !== undefined ? node.color : isHeading ? heading.color : undefined,
				node.isSubtle !== undefined ? node.isSubtle : isHeading ? heading.isSubtle : false, inner);
		} else if (type === "RichTextBlock" && Array.isArray(node.inlines)) {
			node.inlines.forEach((run, i) => {
				const w = at + ".inlines[" + i + "]";
				if (typeof run === "string")
					add(w, run, undefined, false, inner);
				else if (run && run.type === "TextRun")
					add(w + "<TextRun>", run.text, run.color, run.isSubtle, inner);
			});
			return;
		} else if (type === "FactSet" && Array.isArray(node.facts)) {
			const t = fact.title || {};
			const v = fact.value || {};
			node.facts.forEach((f, i) => {
				add(at + ".facts[" + i + "].title", f.title, t.color, t.isSubtle, inner);
				add(at + ".facts[" + i + "].value", f.value, v.color, v.isSubtle, inner);
			});
			return;
		} else if (type === "Action.ShowCard" && node.card) {
			walk(node.card, at + ".card", showCardStyle);
			return;
		}
		for (const [key, value] of Object.entries(node)) {
			if (value !== null && typeof value === "object")
				walk(value, at + "." + key, inner);
		}
	}
	walk(card, "card", "default");
	return out;
}

// Foreground and background of one text in one host config.
function resolve(host, t) {
	const styles = host.containerStyles || {};
	const def = styles.default || {};
	const style = styles[t.style] || def;
	const back = over(parseColor(style.backgroundColor || def.backgroundColor || "#ffffff"),
		parseColor(def.backgroundColor || "#ffffff"));
	const fgs = style.foregroundColors || def.foregroundColors || {};
	const set = fgs[t.color] || fgs.default || {};
	const fore = over(parseColor(t.subtle ? set.subtle : set.default), back);
	return { fore, back };
}

// Checks one card (the Workflows envelope or a bare AdaptiveCard) in every
// theme; returns {checked, failures, problems}.
function checkCard(body, hosts, file) {
	const content = body && body.type === "message" && Array.isArray(body.attachments)
		? (body.attachments[0] || {}).content : body;
	if (!content || content.type !== "AdaptiveCard")
		throw new Error(file + ": not an Adaptive Card or a Workflows message with one");
	const found = texts(content, hosts.light);
	const failures = [];
	const problems = [];
	let checked = 0;
	for (const t of found) {
		if (!STYLES.has(t.style))
			problems.push(file + ": " + t.where + ": unknown container style " + JSON.stringify(t.style));
		if (!COLORS.has(t.color))
			problems.push(file + ": " + t.where + ": unknown color " + JSON.stringify(t.color));
		for (const theme of THEMES) {
			const { fore, back } = resolve(hosts[theme], t);
			const r = ratio(fore, back);
			checked++;
			if (r < MIN_RATIO)
				failures.push({ file, theme, where: t.where, text: t.text, color: t.color, subtle: t.subtle,
					style: t.style, fore: hex(fore), back: hex(back), ratio: r });
		}
	}
	return { checked, failures, problems };
}

function describe(f) {
	const snippet = f.text.length > 40 ? f.text.slice(0, 39) + "\u2026" : f.text;
	return f.file + ": " + f.theme + ": " + f.where + " color=" + f.color + (f.subtle ? " subtle" : "") +
		" style=" + f.style + ": " + f.fore + " on " + f.back + " = " + f.ratio.toFixed(2) + ":1 " +
		JSON.stringify(snippet);
}

function goldenFiles() {
	const dir = path.join(__dirname, "..", "golden");
	return fs.readdirSync(dir).filter((n) => /^teams-.*\.json$/.test(n)).sort().map((n) => path.join(dir, n));
}

function run(files, hosts) {
	let checked = 0;
	const failures = [];
	const problems = [];
	for (const file of files) {
		const body = JSON.parse(fs.readFileSync(file, "utf8"));
		const r = checkCard(body, hosts, path.relative(process.cwd(), file) || file);
		checked += r.checked;
		failures.push(...r.failures);
		problems.push(...r.problems);
	}
	return { checked, failures, problems };
}

// The check must be able to fail: an Attention title (the colour today's
// cards use) is below 4.5:1 on Teams' dark card, Good text on a good
// Container fails in both themes, text in an Action.ShowCard card is judged
// on the emphasis background, and plain default text passes.
function selfTest(hosts) {
	const card = (body) => ({ type: "AdaptiveCard", version: "1.5", body });
	const cases = [
		{ name: "attention title fails in dark", want: ["dark"],
			card: card([{ type: "RichTextBlock", inlines: [{ type: "TextRun", text: "x FAILED", color: "Attention" }] }]) },
		{ name: "default text passes", want: [],
			card: card([{ type: "TextBlock", text: "plain" }, { type: "FactSet", facts: [{ title: "a", value: "b" }] }]) },
		{ name: "good on good container fails in both", want: ["light", "dark"],
			card: card([{ type: "Container", style: "good", items: [{ type: "TextBlock", text: "ok", color: "Good" }] }]) },
		{ name: "ShowCard text is checked on emphasis", want: ["light"], back: "#f9f8f7",
			card: Object.assign(card([]), { actions: [{ type: "Action.ShowCard", title: "t",
				card: card([{ type: "TextBlock", text: "w", color: "Good" }]) }] }) },
	];
	let bad = 0;
	for (const c of cases) {
		const failures = checkCard(c.card, hosts, c.name).failures;
		const got = failures.map((f) => f.theme).sort();
		const want = c.want.slice().sort();
		const ok = JSON.stringify(got) === JSON.stringify(want) && (!c.back || failures[0].back === c.back);
		console.log((ok ? "ok   " : "FAIL ") + c.name + ": below 4.5:1 in [" + got.join(", ") + "], want [" +
			want.join(", ") + "]");
		if (!ok)
			bad++;
	}
	const dark = resolve(hosts.dark, { color: "attention", subtle: false, style: "default" });
	console.log("dark attention on default: " + hex(dark.fore) + " on " + hex(dark.back) + " = " +
		ratio(dark.fore, dark.back).toFixed(2) + ":1");
	return bad ? 1 : 0;
}

function main() {
	const args = process.argv.slice(2);
	let hosts;
	try {
		hosts = { light: loadHost("light"), dark: loadHost("dark") };
	} catch (e) {
		console.error("contrast: host config: " + e.message);
		return 2;
	}
	if (args[0] === "--self-test")
		return selfTest(hosts);
	let result;
	try {
		result = run(args.length ? args : goldenFiles(), hosts);
	} catch (e) {
		console.error("contrast: " + e.message);
		return 2;
	}
	for (const p of result.problems)
		console.log("ERROR " + p);
	for (const f of result.failures)
		console.log("LOW " + describe(f));
	const per = THEMES.map((th) => th + " " + result.failures.filter((f) => f.theme === th).length);
	console.log("contrast: " + result.checked / THEMES.length + " texts checked in " + THEMES.join(" and ") +
		", " + result.failures.length + " below " + MIN_RATIO + ":1 (" + per.join(", ") + ")");
	return result.failures.length || result.problems.length ? 1 : 0;
}

if (require.main === module)
	process.exitCode = main();

module.exports = { parseColor, ratio, texts, checkCard };
