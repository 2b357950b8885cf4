// Telegram opens a Mini App with its signed initData in the URL fragment (#tgWebAppData=…).
// Post it to the server, which checks the signature (bot/web/initdata.py). No CDN script needed.
(function () {
  var hash = new URLSearchParams(window.location.hash.slice(1));
  var data = hash.get("tgWebAppData");
  if (!data) return;
  document.getElementById("init-data").value = data;
  document.getElementById("mini-app").submit();
})();
