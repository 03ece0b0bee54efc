// A small HTML/CSS approximation of how Slack shows a Block Kit message,
// for README screenshots only (Slack has no offline renderer). Covers what
// dpc-notify sends: header, section (mrkdwn text and fields), context,
// actions with link buttons, divider and rich_text (sections, preformatted,
// bold/italic/strike/code styles). mrkdwn is interpreted the way Slack
// documents it: &amp; &lt; &gt; entities, <url|label> links, <!here> and
// <@U…> mentions, *bold*, _italic_, ~strike~, `code` and ```preformatted```.
"use strict";

const EMOJI = { x: "\u274c", warning: "\u26a0\ufe0f", white_check_mark: "\u2705",
	information_source: "\u2139\ufe0f", test_tube: "\ud83e\uddea" };

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
	const [target, label] = inner.split("|", 2);
	if (target.startsWith("!")) {
		const name = target.slice(1).split("^")[0];
		return '<span class="mention">@' + html(label || (name === "subteam" ? "team" : name)) + "</span>";
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
	return html(t.text).replace(/\n/g, "<br>");
}

// rich_text elements are literal: no mrkdwn, no entities.
function richElement(e) {
	if (e.type === "emoji")
		return EMOJI[e.name] || ":" + html(e.name) + ":";
	if (e.type === "link")
		return '<a href="' + html(e.url) + '">' + html(e.text || e.url) + "</a>";
	if (e.type === "user" || e.type === "usergroup" || e.type === "broadcast")
		return '<span class="mention">@' + html(e.user_id || e.usergroup_id || e.range) + "</span>";
	let s = html(e.text || "").replace(/\n/g, "<br>");
	const st = e.style || {};
	if (st.code) s = "<code>" + s + "</code>";
	if (st.bold) s = "<b>" + s + "</b>";
	if (st.italic) s = "<i>" + s + "</i>";
	if (st.strike) s = "<s>" + s + "</s>";
	return s;
}

function richText(block) {
	return block.elements.map((part) => {
		const inner = (part.elements || []).map(richElement).join("");
		if (part.type === "rich_text_preformatted")
			return '<pre class="pre">' + inner + "</pre>";
		if (part.type === "rich_text_quote")
			return "<blockquote>" + inner + "</blockquote>";
		return "<div>" + inner + "</div>";
	}).join("");
}

function block(b) {
	switch (b.type) {
	case "header":
		return '<div class="header">' + textObject(b.text) + "</div>";
	case "section": {
		let s = b.text ? '<div class="text">' + textObject(b.text) + "</div>" : "";
		if (b.fields)
			s += '<div class="fields">' + b.fields.map((f) => "<div>" + textObject(f) + "</div>").join("") + "</div>";
		return '<div class="section">' + s + "</div>";
	}
	case "context":
		return '<div class="context">' + b.elements.map((e) => "<span>" + textObject(e) + "</span>").join("") + "</div>";
	case "actions":
		return '<div class="actions">' + b.elements.map((e) =>
			'<a class="button' + (e.style ? " " + html(e.style) : "") + '" href="' + html(e.url || "#") + '">' +
			textObject(e.text) + "</a>").join("") + "</div>";
	case "divider":
		return '<hr class="divider">';
	case "rich_text":
		return '<div class="rich">' + richText(b) + "</div>";
	default:
		return '<div class="unknown">[' + html(b.type) + " block]</div>";
	}
}

const CSS = `
body { margin: 0; background: #fff; font: 15px/1.46668 Lato, "Helvetica Neue", Helvetica, "Liberation Sans", Arial, sans-serif; color: #1d1c1d; }
.message { display: flex; gap: 8px; padding: 12px 20px 16px; width: 760px; box-sizing: border-box; }
.avatar { flex: none; width: 36px; height: 36px; border-radius: 6px; background: #4a154b; color: #fff; font-weight: 900; font-size: 14px; display: flex; align-items: center; justify-content: center; }
.content { flex: 1; min-width: 0; }
.meta { line-height: 22px; }
.meta b { font-weight: 900; }
.badge { font-size: 10px; font-weight: 700; color: #616061; background: rgba(29,28,29,.13); border-radius: 2px; padding: 1px 3px; margin: 0 4px; vertical-align: 1px; }
.time { color: #616061; font-size: 12px; }
.header { font-size: 18px; font-weight: 900; line-height: 1.33; margin: 4px 0 6px; }
.section { margin: 4px 0; }
.fields { display: grid; grid-template-columns: 1fr 1fr; column-gap: 16px; row-gap: 8px; margin-top: 4px; }
.context { font-size: 12px; color: #616061; margin: 6px 0; }
.context span + span { margin-left: 8px; }
.rich { margin: 8px 0 4px; }
.pre { font: 12px/1.5 Monaco, Menlo, Consolas, "DejaVu Sans Mono", monospace; background: rgba(29,28,29,.04); border: 1px solid rgba(29,28,29,.13); border-radius: 4px; padding: 8px; margin: 4px 0; white-space: pre-wrap; word-break: break-word; }
code { font: 12px Monaco, Menlo, Consolas, "DejaVu Sans Mono", monospace; color: #e01e5a; background: rgba(29,28,29,.04); border: 1px solid rgba(29,28,29,.13); border-radius: 3px; padding: 0 3px; }
.mention { color: #1264a3; background: rgba(29,155,209,.1); border-radius: 3px; padding: 0 2px; font-weight: 700; }
a { color: #1264a3; text-decoration: none; }
.actions { margin: 10px 0 2px; }
.button { display: inline-block; font-size: 13px; font-weight: 700; color: #1d1c1d; border: 1px solid rgba(29,28,29,.3); border-radius: 4px; padding: 0 12px; height: 28px; line-height: 26px; }
.button.primary { background: #007a5a; color: #fff; border-color: #007a5a; }
.divider { border: 0; border-top: 1px solid rgba(29,28,29,.13); margin: 8px 0; }
.unknown { color: #a00; }
`;

// The full page for one webhook body ({text, blocks}).
function page(body, opts = {}) {
	const blocks = (body.blocks || []).map(block).join("\n");
	const fallback = blocks ? "" : '<div class="section">' + mrkdwn(body.text || "") + "</div>";
	return "<!doctype html><html><head><meta charset=\"utf-8\"><style>" + CSS + "</style></head><body>" +
		'<div class="message" id="message"><div class="avatar">dn</div><div class="content">' +
		'<div class="meta"><b>' + html(opts.name || "dpc-notify") + '</b><span class="badge">APP</span>' +
		'<span class="time">' + html(opts.time || "2:14 AM") + "</span></div>" +
		blocks + fallback + "</div></div></body></html>";
}

module.exports = { page, mrkdwn, block };
