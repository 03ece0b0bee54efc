#!/usr/bin/env node
// Renders dpc-notify's chat messages to PNGs for the README, in Debian's
// headless Chromium driven by playwright-core (which never downloads a
// browser). Teams: the card inside the Workflows envelope is rendered by
// Microsoft's adaptivecards library with a Teams-like host config, in a
// Teams-like message frame. Slack: slack-blockkit.js, our approximation of
// Slack's look (Slack has no offline renderer). No network is used: every
// page is built from local files.
//
// Usage: node screenshots.js --teams BODY.json --slack BODY.json --out DIR
"use strict";

const fs = require("fs");
const path = require("path");
const { chromium } = require("playwright-core");
const slack = require("./slack-blockkit.js");

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync"];
const AC_BUNDLE = require.resolve("adaptivecards/dist/adaptivecards.min.js");

// Close to Teams' light theme (Segoe UI falls back to what the machine has).
const TEAMS_HOST = {
	fontFamily: "'Segoe UI', 'Helvetica Neue', 'Liberation Sans', Arial, sans-serif",
	supportsInteractivity: true,
	spacing: { small: 4, default: 8, medium: 16, large: 20, extraLarge: 24, padding: 16 },
	separator: { lineThickness: 1, lineColor: "#E0E0E0" },
	fontSizes: { small: 12, default: 14, medium: 14, large: 18, extraLarge: 24 },
	fontWeights: { lighter: 200, default: 400, bolder: 600 },
	fontTypes: {
		default: { fontFamily: "'Segoe UI', 'Helvetica Neue', 'Liberation Sans', Arial, sans-serif",
			fontSizes: { small: 12, default: 14, medium: 14, large: 18, extraLarge: 24 },
			fontWeights: { lighter: 200, default: 400, bolder: 600 } },
		monospace: { fontFamily: "Consolas, Menlo, 'DejaVu Sans Mono', monospace",
			fontSizes: { small: 12, default: 13, medium: 14, large: 18, extraLarge: 24 },
			fontWeights: { lighter: 200, default: 400, bolder: 600 } },
	},
	containerStyles: {
		default: {
			backgroundColor: "#FFFFFF",
			foregroundColors: {
				default: { default: "#242424", subtle: "#616161" },
				accent: { default: "#5B5FC7", subtle: "#7F85F5" },
				attention: { default: "#C4314B", subtle: "#D13438" },
				good: { default: "#107C10", subtle: "#0E700E" },
				warning: { default: "#835C00", subtle: "#8A6100" },
				dark: { default: "#242424", subtle: "#424242" },
				light: { default: "#FFFFFF", subtle: "#F5F5F5" },
			},
		},
		emphasis: { backgroundColor: "#F5F5F5", foregroundColors: { default: { default: "#242424", subtle: "#616161" } } },
	},
	actions: { maxActions: 6, spacing: "default", buttonSpacing: 8, showCard: { actionMode: "inline" },
		actionsOrientation: "horizontal", actionAlignment: "left" },
	factSet: { title: { weight: "bolder", size: "default", color: "default", wrap: true, maxWidth: 150 },
		value: { size: "default", color: "default", wrap: true }, spacing: 12 },
};

const TEAMS_CSS = `
body { margin: 0; background: #f5f5f5; font-family: ${TEAMS_HOST.fontFamily}; }
#frame { width: 720px; padding: 20px 24px; box-sizing: border-box; display: flex; gap: 10px; }
.avatar { flex: none; width: 32px; height: 32px; border-radius: 50%; background: #5b5fc7; color: #fff; font: 600 13px/32px ${TEAMS_HOST.fontFamily}; text-align: center; }
.bubble { flex: 1; background: #fff; border-radius: 6px; box-shadow: 0 1px 2px rgba(0,0,0,.14), 0 0 2px rgba(0,0,0,.12); overflow: hidden; }
.meta { font-size: 12px; color: #616161; padding: 10px 16px 0; }
.meta b { color: #242424; font-weight: 600; margin-right: 8px; }
.ac-pushButton { font: 600 14px ${TEAMS_HOST.fontFamily}; color: #242424; background: #fff; border: 1px solid #d1d1d1; border-radius: 4px; padding: 5px 12px; min-height: 32px; cursor: pointer; }
.mention { color: #5b5fc7; font-weight: 600; }
`;

// Stands in for Teams' own Markdown handling of TextBlocks: dpc-notify's
// TextBlocks hold only its own plain wording and the config mention, which
// Teams shows as a highlighted name. Runs in the page.
function teamsMarkdown(text, result) {
	const esc = text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
	result.outputHtml = "<p style=\"margin:0\">" +
		esc.replace(/&lt;at&gt;([\s\S]*?)&lt;\/at&gt;/g, "<span class=\"mention\">@$1</span>")
			.replace(/\n/g, "<br>") + "</p>";
	result.didProcess = true;
}

function teamsPage() {
	return "<!doctype html><html><head><meta charset=\"utf-8\"><style>" + TEAMS_CSS + "</style></head><body>" +
		"<div id=\"frame\"><div class=\"avatar\">W</div><div class=\"bubble\">" +
		"<div class=\"meta\"><b>Workflows</b>2:14 AM</div><div id=\"card\"></div></div></div></body></html>";
}

async function shootTeams(browser, body, out) {
	const page = await browser.newPage({ deviceScaleFactor: 2 });
	await page.setContent(teamsPage());
	await page.addScriptTag({ path: AC_BUNDLE });
	const problems = await page.evaluate(({ content, host, md }) => {
		const AC = window.AdaptiveCards;
		AC.AdaptiveCard.onProcessMarkdown = new Function("return " + md)();
		const card = new AC.AdaptiveCard();
		card.hostConfig = new AC.HostConfig(host);
		const ctx = new AC.SerializationContext();
		card.parse(content, ctx);
		const msgs = [];
		for (let i = 0; i < ctx.eventCount; i++)
			msgs.push(ctx.getEventAt(i).message);
		document.getElementById("card").appendChild(card.render());
		return msgs;
	}, { content: body.attachments[0].content, host: TEAMS_HOST, md: teamsMarkdown.toString() });
	if (problems.length)
		throw new Error("card parse events: " + problems.join("; "));
	await page.locator("#frame").screenshot({ path: out });
	await page.close();
}

async function shootSlack(browser, body, out) {
	const page = await browser.newPage({ deviceScaleFactor: 2 });
	await page.setContent(slack.page(body));
	await page.locator("#message").screenshot({ path: out });
	await page.close();
}

function args(argv) {
	const a = {};
	for (let i = 0; i < argv.length; i += 2) {
		if (!/^--(teams|slack|out)$/.test(argv[i]) || argv[i + 1] === undefined)
			throw new Error("usage: screenshots.js --teams BODY.json --slack BODY.json --out DIR");
		a[argv[i].slice(2)] = argv[i + 1];
	}
	if (!a.out)
		throw new Error("--out DIR is required");
	return a;
}

async function main() {
	const a = args(process.argv.slice(2));
	const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
	try {
		if (a.teams) {
			const out = path.join(a.out, "teams-card.png");
			await shootTeams(browser, JSON.parse(fs.readFileSync(a.teams, "utf8")), out);
			console.log("wrote " + out);
		}
		if (a.slack) {
			const out = path.join(a.out, "slack-message.png");
			await shootSlack(browser, JSON.parse(fs.readFileSync(a.slack, "utf8")), out);
			console.log("wrote " + out);
		}
	} finally {
		await browser.close();
	}
}

main().catch((e) => {
	console.error("screenshots: " + e.message);
	process.exit(1);
});
