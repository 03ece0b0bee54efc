#!/usr/bin/env node
// Renders dpc-notify's golden chat payloads (tests/golden/<target>-<scenario>
// .json, the exact bodies the renderers produce) to PNGs, in Debian's
// headless Chromium driven by playwright-core (which never downloads a
// browser). Teams: the card inside the Workflows envelope is rendered by
// Microsoft's adaptivecards library with the Teams light and dark host
// configs beside this file, in a Teams-like message frame; an
// Action.ShowCard is shown collapsed, as Teams first shows it, and once more
// expanded. Slack: slack-blockkit.js, our approximation of Slack's look
// (Slack has no offline renderer). Each at a phone (390 px) and a desktop
// (720 px) width. No network is used: every page is built from local files.
//
// Usage: node screenshots.js --golden DIR --out DIR [--readme DIR]
//            [--readme-scenario NAME[,FALLBACK...]] [--slack-themes light[,dark]]
// Writes OUT/<target>-<scenario>-<theme>-<width>.png (and
// ...-expanded.png for cards with an Action.ShowCard); with --readme also
// README/teams-card.png and README/slack-message.png from the first
// scenario of --readme-scenario that has goldens (light theme, 720 px).
"use strict";

const fs = require("fs");
const path = require("path");
const { chromium } = require("playwright-core");
const slack = require("./slack-blockkit.js");

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync"];
const AC_BUNDLE = require.resolve("adaptivecards/dist/adaptivecards.min.js");
const WIDTHS = [390, 720];
const TEAMS_THEMES = ["light", "dark"];
// {{DATE()}}/{{TIME()}} show in the reader's zone and locale in Teams; the
// pages are fixed to UTC and en-US so every machine makes the same images.
const CONTEXT = { deviceScaleFactor: 2, timezoneId: "UTC", locale: "en-US" };

// A page that can reach nothing: an image URL in a card (or anything else)
// is refused, so a render never depends on the network.
async function newPage(browser, width) {
	const page = await browser.newPage(Object.assign({ viewport: { width, height: 900 } }, CONTEXT));
	await page.route("**/*", (route) => route.abort());
	return page;
}

// A host config file holds the adaptivecards HostConfig plus our "frame"
// colours (the chat around the card) and a "$comment" naming the source.
function loadTeamsTheme(theme) {
	const all = JSON.parse(fs.readFileSync(path.join(__dirname, "teams-host-" + theme + ".json"), "utf8"));
	const frame = all.frame;
	const host = Object.assign({}, all);
	delete host.frame;
	delete host.$comment;
	return { host, frame };
}

// "#AARRGGBB" (the host config form) to a CSS colour.
function cssColor(c) {
	const m = /^#([0-9a-f]{2})([0-9a-f]{6})$/i.exec(c);
	if (!m)
		return c;
	const v = m[2];
	return "rgba(" + [0, 2, 4].map((i) => parseInt(v.slice(i, i + 2), 16)).join(",") + "," +
		(parseInt(m[1], 16) / 255).toFixed(3) + ")";
}

function teamsCss(host, frame, width) {
	const phone = width < 600;
	const font = host.fontFamily;
	const card = cssColor(host.containerStyles.default.backgroundColor);
	return `
body { margin: 0; background: ${frame.page}; font-family: ${font}; }
#frame { width: ${width}px; padding: ${phone ? "12px 8px" : "20px 24px"}; box-sizing: border-box; background: ${frame.page};
	display: flex; flex-direction: ${phone ? "column" : "row"}; gap: ${phone ? 6 : 10}px; }
.who { display: flex; align-items: center; gap: 8px; }
.avatar { flex: none; width: ${phone ? 24 : 32}px; height: ${phone ? 24 : 32}px; border-radius: 50%; background: #5b5fc7; color: #fff;
	font: 600 ${phone ? 11 : 13}px/${phone ? 24 : 32}px ${font}; text-align: center; }
.bubble { flex: 1; min-width: 0; background: ${card}; border-radius: 6px; box-shadow: 0 1px 2px rgba(0,0,0,.14), 0 0 2px rgba(0,0,0,.12); overflow: hidden; }
.meta { font-size: 12px; color: ${frame.meta}; padding: 10px 16px 0; }
.who .meta { padding: 0; }
.meta b { color: ${frame.name}; font-weight: 600; margin-right: 8px; }
.ac-pushButton { font: 600 14px ${font}; color: ${frame.buttonText}; background: ${frame.buttonBackground};
	border: 1px solid ${frame.buttonBorder}; border-radius: 4px; padding: 5px 12px; min-height: 32px; cursor: pointer;
	overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.ac-pushButton[aria-expanded="true"] { border-color: ${frame.mention}; color: ${frame.mention}; }
.mention { color: ${frame.mention}; font-weight: 600; }
a { color: ${frame.link}; }
.ac-textBlock p, .ac-textBlock ul { margin: 0; }
.ac-textBlock ul { padding-left: 20px; }
`;
}

// Stands in for Teams' own Markdown handling of TextBlocks (the library
// leaves it to the host): <at>name</at> mentions, **bold**, _italic_,
// [label](https://…) links, "- " bullet lines and line breaks. Everything
// else is shown literally, HTML included. Runs in the page.
function teamsMarkdown(text, result) {
	const esc = text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
	const inline = (s) => s
		.replace(/&lt;at&gt;([\s\S]*?)&lt;\/at&gt;/g, "<span class=\"mention\">@$1</span>")
		.replace(/\*\*(\S(?:[\s\S]*?\S)?)\*\*/g, "<b>$1</b>")
		.replace(/(^|[\s(])_(\S(?:[^_]*?\S)?)_(?=$|[\s).,:;!?])/g, "$1<i>$2</i>")
		.replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g, "<a href=\"$2\">$1</a>");
	let out = "";
	let list = false;
	for (const line of esc.split(/\r?\n/)) {
		const item = /^\s*[-*] (.*)$/.exec(line);
		if (item) {
			out += (list ? "" : "<ul>") + "<li>" + inline(item[1]) + "</li>";
			list = true;
			continue;
		}
		if (list)
			out += "</ul>";
		else if (out !== "")
			out += "<br>";
		list = false;
		out += inline(line);
	}
	result.outputHtml = "<p>" + out + (list ? "</ul>" : "") + "</p>";
	result.didProcess = true;
}

function teamsPage(host, frame, width) {
	const phone = width < 600;
	const who = "<div class=\"avatar\">W</div>";
	const meta = "<div class=\"meta\"><b>Workflows</b>2:14 AM</div>";
	return "<!doctype html><html><head><meta charset=\"utf-8\"><style>" + teamsCss(host, frame, width) +
		"</style></head><body><div id=\"frame\">" +
		(phone ? "<div class=\"who\">" + who + meta + "</div><div class=\"bubble\">"
			: who + "<div class=\"bubble\">" + meta) +
		"<div id=\"card\"></div></div></div></body></html>";
}

// Renders one Teams body; returns the files written.
async function shootTeams(browser, body, theme, width, base) {
	const { host, frame } = loadTeamsTheme(theme);
	const page = await newPage(browser, width);
	const written = [];
	try {
		await page.setContent(teamsPage(host, frame, width));
		await page.addScriptTag({ path: AC_BUNDLE });
		const r = await page.evaluate(({ content, host, md }) => {
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
			return { msgs, text: document.getElementById("card").textContent };
		}, { content: body.attachments[0].content, host, md: teamsMarkdown.toString() });
		if (r.msgs.length)
			throw new Error("card parse events: " + r.msgs.join("; "));
		// The library formats {{DATE()}}/{{TIME()}} only in the exact form
		// Teams documents; a leftover one would show raw in Teams too.
		const raw = /\{\{(DATE|TIME)\([^)]*\)\}\}/.exec(r.text);
		if (raw)
			throw new Error("unformatted " + raw[0] + " (Teams wants {{DATE(YYYY-MM-DDThh:mm:ssZ, SHORT)}})");
		await page.locator("#frame").screenshot({ path: base + ".png" });
		written.push(base + ".png");
		// Teams shows an Action.ShowCard as a button; one more image with
		// the first one opened shows what is behind it.
		const closed = page.locator("button[aria-expanded=\"false\"]");
		if (await closed.count()) {
			await closed.first().click();
			await page.locator("#frame").screenshot({ path: base + "-expanded.png" });
			written.push(base + "-expanded.png");
		}
	} finally {
		await page.close();
	}
	return written;
}

async function shootSlack(browser, body, theme, width, base) {
	const page = await newPage(browser, width);
	try {
		await page.setContent(slack.page(body, { theme, width }));
		await page.locator("#message").screenshot({ path: base + ".png" });
	} finally {
		await page.close();
	}
	return [base + ".png"];
}

function args(argv) {
	const a = { "readme-scenario": "child-deep,failed", "slack-themes": "light" };
	for (let i = 0; i < argv.length; i += 2) {
		if (!/^--(golden|out|readme|readme-scenario|slack-themes)$/.test(argv[i]) || argv[i + 1] === undefined)
			throw new Error("usage: screenshots.js --golden DIR --out DIR [--readme DIR] " +
				"[--readme-scenario NAME[,FALLBACK]] [--slack-themes light[,dark]]");
		a[argv[i].slice(2)] = argv[i + 1];
	}
	if (!a.golden || !a.out)
		throw new Error("--golden DIR and --out DIR are required");
	return a;
}

// tests/golden/<target>-<scenario>.json, sorted by scenario then target.
function goldens(dir) {
	return fs.readdirSync(dir).map((n) => /^(slack|teams)-(.+)\.json$/.exec(n)).filter(Boolean)
		.map((m) => ({ target: m[1], scenario: m[2], file: path.join(dir, m[0]) }))
		.sort((x, y) => (x.scenario + "/" + x.target).localeCompare(y.scenario + "/" + y.target));
}

async function main() {
	const a = args(process.argv.slice(2));
	const list = goldens(a.golden);
	if (!list.length)
		throw new Error("no <slack|teams>-<scenario>.json in " + a.golden);
	fs.mkdirSync(a.out, { recursive: true });
	const slackThemes = a["slack-themes"].split(",").filter(Boolean);
	const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
	let count = 0;
	try {
		for (const g of list) {
			const body = JSON.parse(fs.readFileSync(g.file, "utf8"));
			const themes = g.target === "teams" ? TEAMS_THEMES : slackThemes;
			for (const theme of themes) {
				for (const width of WIDTHS) {
					const base = path.join(a.out, g.target + "-" + g.scenario + "-" + theme + "-" + width);
					try {
						const files = g.target === "teams" ? await shootTeams(browser, body, theme, width, base)
							: await shootSlack(browser, body, theme, width, base);
						count += files.length;
					} catch (e) {
						throw new Error(path.basename(g.file) + " (" + theme + ", " + width + " px): " + e.message);
					}
				}
			}
		}
		console.log("screenshots: " + count + " images from " + list.length + " golden files in " + a.out);
		if (a.readme) {
			const names = a["readme-scenario"].split(",");
			const pick = names.find((n) => list.some((g) => g.scenario === n && g.target === "teams") &&
				list.some((g) => g.scenario === n && g.target === "slack"));
			if (!pick)
				throw new Error("no golden pair for the README among: " + names.join(", "));
			fs.mkdirSync(a.readme, { recursive: true });
			for (const [target, name] of [["teams", "teams-card.png"], ["slack", "slack-message.png"]]) {
				const dst = path.join(a.readme, name);
				fs.copyFileSync(path.join(a.out, target + "-" + pick + "-light-720.png"), dst);
				console.log("wrote " + dst + " (" + pick + ")");
			}
		}
	} finally {
		await browser.close();
	}
}

main().catch((e) => {
	console.error("screenshots: " + e.message);
	process.exit(1);
});
