// SPDX-License-Identifier: BSD-2-Clause
//
// i18n.js - the owner page in Japanese when the browser prefers it (the
// owner notification mail is Japanese or English too).  t(text) is the
// English text itself on every other page and language.

const JA = {
	"your account's history": 'アカウントの利用履歴',
	'intro': 'あなたのメールアカウントへのログインと、このアカウントから送信されたメールの記録です。' +
	    '身に覚えのないログインがあれば「自分ではありません」を押してください。管理者にすぐ通知されます。' +
	    'そのうえでパスワードを変更してください。',
	'expired': 'このページを見るには有効なリンクが必要です。リンクには有効期限があります。' +
	    '管理者に新しいリンクを依頼するか、最新の通知メールのリンクをお使いください。',
	'Logins by day, address and service': '日ごとのログイン（アドレス・サービス別）',
	'Messages sent': '送信したメール',
	'Places': 'ログイン元の場所',
	'Open sessions': '接続中のセッション',
	'Alerts': '警告',
	'Recent attempts': '最近のログイン試行',
	'Result': '結果', 'Service': 'サービス', 'Address': 'アドレス', 'Place': '場所',
	'Count': '回数', 'First (UTC)': '最初 (UTC)', 'Last (UTC)': '最後 (UTC)',
	'Mechanism': '認証方式', 'Server': 'サーバー', 'Reason': '理由', 'Mark': '確認',
	'Time (UTC)': '日時 (UTC)', 'Attempts': '試行回数', 'From': '差出人', 'Subject': '件名',
	'Recipients': '宛先', 'Size': 'サイズ', 'Client': '送信元', 'Sent by login': '送信したログイン',
	'Queue id': 'キューID', 'Logins': 'ログイン数', 'Since (UTC)': '開始 (UTC)',
	'Session': 'セッション', 'Severity': '重要度', 'Kind': '種類', 'Summary': '概要',
	'ok': '成功', 'fail': '失敗', 'State': '状態', 'open': '継続中', 'closed': '終了',
	'This was me': '自分です', "This wasn't me": '自分ではありません',
	'Thank you: noted as yours.': 'ありがとうございます。ご本人のログインとして記録しました。',
	'Thank you: the administrators have been alerted.':
	    'ありがとうございます。管理者に通知しました。パスワードを変更してください。',
	'owner: was me': '本人確認済み', "owner: wasn't me": '本人ではない',
	'No logins in this range.': 'この期間のログインはありません。',
	'No messages sent in this range.': 'この期間に送信したメールはありません。',
	'No places learned (GeoIP not configured, or no logins).': '場所の記録はありません。',
	'No open sessions.': '接続中のセッションはありません。',
	'No alerts.': '警告はありません。',
	'No recent attempts.': '最近のログイン試行はありません。',
};

const EN = {
	'intro': 'These are the logins to your mail account and the messages it sent. If a login ' +
	    "was not you, press \u201cThis wasn't me\u201d: your administrators are alerted at once. " +
	    'Then change your password.',
	'expired': 'This page needs a valid link. Links expire: ask your administrator for a new ' +
	    'one, or use the link of your latest notification mail.',
};

let lang = 'en';

// uselang - Japanese when the browser's first Japanese-or-English choice is
// Japanese; sets <html lang>
export function uselang(prefs) {
	const l = (prefs || []).find((x) => /^(ja|en)\b/i.test(x));
	lang = l && /^ja/i.test(l) ? 'ja' : 'en';
	document.documentElement.lang = lang;
	return lang;
}

export function t(s) {
	const m = lang === 'ja' ? JA : EN;
	return Object.hasOwn(m, s) ? m[s] : s;
}
