// A small HTML/CSS approximation of how Slack shows a Block Kit message,
// for README screenshots only (Slack has no offline renderer). Covers what
// dpc-notify sends: header, section (mrkdwn or plain text, fields, a button
// accessory), context (plain_text and mrkdwn elements), actions with link
// buttons, divider and rich_text (sections, lists, preformatted, quotes;
// bold/italic/strike/code styles; date elements). mrkdwn is interpreted the
// way Slack documents it: &amp; &lt; &gt; entities, <url|label> links,
// <!here>, <!subteam^…> and <@U…> mentions, <!date^…|fallback> dates,
// *bold*, _italic_, ~strike~, `code` and ```preformatted```.
// Dates are shown as their fallback text: Slack would format the timestamp
// in the reader's time zone, and the fallback is what dpc-notify wrote for
// UTC, so the screenshot stays the same on every machine.
"use strict";

const EMOJI = { x: "\u274c", warning: "\u26a0\ufe0f", white_check_mark: "\u2705",
	information_source: "\u2139\ufe0f", test_tube: "\ud83e\uddea", stop_button: "\u23f9\ufe0f",
	black_square_for_stop: "\u23f9\ufe0f", heavy_check_mark: "\u2714\ufe0f", large_green_circle: "\ud83d\udfe2",
	red_circle: "\ud83d\udd34", large_yellow_circle: "\ud83d\udfe1", hourglass_flowing_sand: "\u23f3",
	arrows_counterclockwise: "\ud83d\udd04", leftwards_arrow_with_hook: "\u21a9\ufe0f", link: "\ud83d\udd17",
	no_entry: "\u26d4", octagonal_sign: "\ud83d\uded1", rotating_light: "\ud83d\udea8", bell: "\ud83d\udd14" };

function html(s) {
	return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
		.replace(/"/g, "&quot;");
}

// Slack text arrives entity-escaped; decode before escaping for HTML.
function decode(s) {
	return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function shortcodes(escaped) {
	return escaped.replace(/:([a-z0-9_+-]+):/g, (m, name) => EMOJI[name] || m);
}

// *bold*, _italic_, ~strike~ on already HTML-escaped text; the markers must
// sit at word boundaries, as in Slack.
function emphasis(escaped) {
	const rule = (ch) => new RegExp("(^|[\\s(\\[{>.,;:!?'\"-])\\" + ch + "(?=\\S)([^" + ch +
		"\\n]*?\\S)\\" + ch + "(?=$|[\\s)\\]}<.,;:!?'\"-])", "g");
	return escaped.replace(rule("*"), "$1<b>$2</b>")
		.replace(rule("_"), "$1<i>$2</i>")
		.replace(rule("~"), "$1<s>$2</s>");
}

// One <…> control sequence: a link, a mention or a broadcast.
function control(inner) {
	const bar = inner.indexOf("|");
	const target = bar < 0 ? inner : inner.slice(0, bar);
	const label = bar < 0 ? "" : inner.slice(bar + 1);
	// <!date^epoch^format[^link]|fallback>: the fallback stands in for the
	// reader's local time (see the file comment).
	if (target.startsWith("!date^"))
		return '<span class="date">' + html(label || target) + "</span>";
	if (target.startsWith("!")) {
		const name = target.slice(1).split("^")[0];
		return '<span class="mention">@' + html(label.replace(/^@/, "") || (name === "subteam" ? "team" : name)) +
			"</span>";
	}
	if (target.startsWith("@") || target.startsWith("#"))
		return '<span class="mention">' + html(target[0] + (label || target.slice(1))) + "</span>";
	return '<a href="' + html(target) + '">' + html(label || target) + "</a>";
}

// Inline mrkdwn (no ``` blocks) to HTML.
function inline(text) {
	let out = "";
	const parts = text.split(/(`[^`\n]+`)/);
	for (const part of parts) {
		if (/^`[^`\n]+`$/.test(part)) {
			out += '<code>' + html(decode(part.slice(1, -1))) + "</code>";
			continue;
		}
		let rest = "";
		let last = 0;
		part.replace(/<([^<>]+)>/g, (m, inner, at) => {
			rest += emphasis(shortcodes(html(decode(part.slice(last, at)))));
			rest += control(decode(inner));
			last = at + m.length;
			return m;
		});
		out += rest + emphasis(shortcodes(html(decode(part.slice(last)))));
	}
	return out.replace(/\n/g, "<br>");
}

function mrkdwn(text) {
	return text.split(/(```[\s\S]*?```)/).map((seg) => {
		if (seg.startsWith("```") && seg.endsWith("```") && seg.length >= 6)
			return '<pre class="pre">' + html(decode(seg.slice(3, -3).replace(/^\n/, ""))) + "</pre>";
		return inline(seg.replace(/^\n+|\n+$/g, ""));
	}).join("");
}

function textObject(t) {
	if (!t)
		return "";
	if (t.type === "mrkdwn")
		return mrkdwn(t.text);
	// plain_text: emoji shortcodes are converted unless "emoji": false.
	const s = html(t.text || "");
	return (t.emoji === false ? s : shortcodes(s)).replace(/\n/g, "<br>");
}

// rich_text elements are literal: no mrkdwn, no entities.
function richElement(e) {
	if (e.type === "emoji")
		return EMOJI[e.name] || ":" + html(e.name) + ":";
	if (e.type === "link")
		return '<a href="' + html(e.url) + '">' + html(e.text || e.url) + "</a>";
	if (e.type === "user" || e.type === "usergroup" || e.type === "broadcast")
		return '<span class="mention">@' + html(e.user_id || e.usergroup_id || e.range) + "</span>";
	if (e.type === "date")
		return '<span class="date">' + html(e.fallback || String(e.timestamp)) + "</span>";
	let s = html(e.text || "").replace(/\n/g, "<br>");
	const st = e.style || {};
	if (st.code) s = "<code>" + s + "</code>";
	if (st.bold) s = "<b>" + s + "</b>";
	if (st.italic) s = "<i>" + s + "</i>";
	if (st.strike) s = "<s>" + s + "</s>";
	return s;
}

function richPart(part) {
	if (part.type === "rich_text_list") {
		const tag = part.style === "ordered" ? "ol" : "ul";
		return "<" + tag + ' class="list" style="margin-left:' + (22 + 22 * (part.indent || 0)) + 'px">' +
			(part.elements || []).map((item) => "<li>" + (item.elements || []).map(richElement).join("") + "</li>")
				.join("") + "</" + tag + ">";
	}
	const inner = (part.elements || []).map(richElement).join("");
	if (part.type === "rich_text_preformatted")
		return '<pre class="pre">' + inner + "</pre>";
	if (part.type === "rich_text_quote")
		return '<blockquote class="quote">' + inner + "</blockquote>";
	if (part.type === "rich_text_section")
		return "<div>" + inner + "</div>";
	return '<div class="unknown">[' + html(part.type) + "]</div>";
}

function richText(block) {
	return (block.elements || []).map(richPart).join("");
}

function button(e) {
	// A menu shows as its placeholder with a caret, as Slack draws it.
	if (e.type === "static_select" || e.type === "overflow")
		return '<span class="button select">' + (e.placeholder ? textObject(e.placeholder) : "\u22ef") +
			' <span class="caret">\u25be</span></span>';
	if (e.type !== "button")
		return '<span class="unknown">[' + html(e.type) + "]</span>";
	return '<a class="button' + (e.style ? " " + html(e.style) : "") + '" href="' + html(e.url || "#") + '">' +
		textObject(e.text) + "</a>";
}

function block(b) {
	switch (b.type) {
	case "header":
		return '<div class="header">' + textObject(b.text) + "</div>";
	case "section": {
		let s = b.text ? '<div class="text">' + textObject(b.text) + "</div>" : "";
		if (b.fields)
			s += '<div class="fields">' + b.fields.map((f) => "<div>" + textObject(f) + "</div>").join("") + "</div>";
		if (b.accessory)
			return '<div class="section with-accessory"><div>' + s + '</div><div class="accessory">' +
				button(b.accessory) + "</div></div>";
		return '<div class="section">' + s + "</div>";
	}
	case "context":
		return '<div class="context">' + b.elements.map((e) => "<span>" + (e.type === "image"
			? '<span class="ctx-image"></span>' : textObject(e)) + "</span>").join("") + "</div>";
	case "actions":
		return '<div class="actions">' + b.elements.map(button).join("") + "</div>";
	case "divider":
		return '<hr class="divider">';
	case "rich_text":
		return '<div class="rich">' + richText(b) + "</div>";
	default:
		return '<div class="unknown">[' + html(b.type) + " block]</div>";
	}
}

// Colours of Slack's light and dark themes as they appear in its clients
// (read off the apps, not from a published specification).
const THEMES = {
	light: { bg: "#ffffff", fg: "#1d1c1d", muted: "#616061", link: "#1264a3", line: "rgba(29,28,29,.13)",
		codeBg: "rgba(29,28,29,.04)", codeFg: "#e01e5a", mentionBg: "rgba(29,155,209,.1)", buttonBorder: "rgba(29,28,29,.3)" },
	dark: { bg: "#1a1d21", fg: "#d1d2d3", muted: "#ababad", link: "#1d9bd1", line: "rgba(232,232,232,.13)",
		codeBg: "rgba(232,232,232,.04)", codeFg: "#e8912d", mentionBg: "rgba(29,155,209,.1)", buttonBorder: "rgba(232,232,232,.3)" },
};

function css(theme, width) {
	const t = THEMES[theme] || THEMES.light;
	// Slack's phone apps use a 16 px body and tighter side margins.
	const phone = width < 600;
	return `
body { margin: 0; background: ${t.bg}; font: ${phone ? 16 : 15}px/1.46668 Lato, "Helvetica Neue", Helvetica, "Liberation Sans", Arial, sans-serif; color: ${t.fg}; }
.message { display: flex; gap: 8px; padding: ${phone ? "10px 12px 14px" : "12px 20px 16px"}; width: ${width}px; box-sizing: border-box; background: ${t.bg}; }
.avatar { flex: none; width: 36px; height: 36px; border-radius: 6px; background: #4a154b; color: #fff; font-weight: 900; font-size: 14px; display: flex; align-items: center; justify-content: center; }
.content { flex: 1; min-width: 0; overflow-wrap: anywhere; }
.meta { line-height: 22px; }
.meta b { font-weight: 900; }
.badge { font-size: 10px; font-weight: 700; color: ${t.muted}; background: ${t.line}; border-radius: 2px; padding: 1px 3px; margin: 0 4px; vertical-align: 1px; }
.time { color: ${t.muted}; font-size: 12px; }
.header { font-size: 18px; font-weight: 900; line-height: 1.33; margin: 4px 0 6px; }
.section { margin: 4px 0; }
.with-accessory { display: flex; gap: 12px; align-items: flex-start; }
.with-accessory > div:first-child { flex: 1; min-width: 0; }
.fields { display: grid; grid-template-columns: 1fr 1fr; column-gap: 16px; row-gap: 8px; margin-top: 4px; }
.context { font-size: 12px; color: ${t.muted}; margin: 6px 0; }
.context > span + span { margin-left: 8px; }
.ctx-image { display: inline-block; width: 16px; height: 16px; border-radius: 3px; background: ${t.line}; vertical-align: -3px; }
.rich { margin: 8px 0 4px; }
.pre { font: 12px/1.5 Monaco, Menlo, Consolas, "DejaVu Sans Mono", monospace; background: ${t.codeBg}; border: 1px solid ${t.line}; border-radius: 4px; padding: 8px; margin: 4px 0; white-space: pre-wrap; word-break: break-word; }
code { font: 12px Monaco, Menlo, Consolas, "DejaVu Sans Mono", monospace; color: ${t.codeFg}; background: ${t.codeBg}; border: 1px solid ${t.line}; border-radius: 3px; padding: 0 3px; }
.pre code { color: inherit; background: none; border: 0; padding: 0; }
.quote { margin: 4px 0; padding-left: 12px; border-left: 4px solid ${t.line}; }
.list { margin: 2px 0; padding: 0; }
.mention { color: ${t.link}; background: ${t.mentionBg}; border-radius: 3px; padding: 0 2px; font-weight: 700; }
.date { color: inherit; }
a { color: ${t.link}; text-decoration: none; }
.actions { margin: 10px 0 2px; display: flex; flex-wrap: wrap; gap: 8px; }
.button { display: inline-block; font-size: 13px; font-weight: 700; color: ${t.fg}; border: 1px solid ${t.buttonBorder}; border-radius: 4px; padding: 0 12px; height: 28px; line-height: 26px; white-space: nowrap; }
.button.select .caret { color: ${t.muted}; }
.button.primary { background: #007a5a; color: #fff; border-color: #007a5a; }
.button.danger { background: #e01e5a; color: #fff; border-color: #e01e5a; }
.divider { border: 0; border-top: 1px solid ${t.line}; margin: 8px 0; }
.unknown { color: #e01e5a; font-weight: 700; }
`;
}

// The full page for one webhook body ({text, blocks}). opts: name, time,
// theme ("light" | "dark"), width in CSS pixels (default 760).
function page(body, opts = {}) {
	const blocks = (body.blocks || []).map(block).join("\n");
	const fallback = blocks ? "" : '<div class="section">' + mrkdwn(body.text || "") + "</div>";
	return "<!doctype html><html><head><meta charset=\"utf-8\"><style>" + css(opts.theme, opts.width || 760) +
		"</style></head><body>" +
		'<div class="message" id="message"><div class="avatar">dn</div><div class="content">' +
		'<div class="meta"><b>' + html(opts.name || "dpc-notify") + '</b><span class="badge">APP</span>' +
		'<span class="time">' + html(opts.time || "2:14 AM") + "</span></div>" +
		blocks + fallback + "</div></div></body></html>";
}

module.exports = { page, mrkdwn, block, css, html, THEMES };
