// The language buttons at the top of every page: the choice is a cookie the server reads
// (languages.py), so it is remembered. The page reloads in place, keeping the part of the
// address after "#" (a room's secret), which a link to the server would lose.

const COOKIE = 'language';
const A_YEAR = 365 * 24 * 60 * 60;

for (const button of document.querySelectorAll('[data-language]')) {
  button.addEventListener('click', () => {
    document.cookie = `${COOKIE}=${button.dataset.language}; path=/; max-age=${A_YEAR}; SameSite=Lax`;
    location.reload();
  });
}
