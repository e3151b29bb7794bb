// The page's sentences in the page's language. Each is written in English in the code as
// t('...'), which is also its id in the gettext catalog (translations/); the server puts
// the translations this page needs into <script id="script-words"> (templates/base.html).
// English needs none: the id is the sentence.
//   t('Trying again in {seconds} s.', { seconds: 2 })

const words = JSON.parse(document.getElementById('script-words')?.textContent || '{}');

export function t(message, values = {}) {
  return (words[message] || message).replace(/\{(\w+)\}/g,
    (placeholder, name) => (name in values ? String(values[name]) : placeholder));
}
