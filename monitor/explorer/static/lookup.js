// Optional: hash a file in the browser (it is never uploaded) and look its
// digest up. Without JavaScript, paste the output of sha256sum instead.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const file = document.getElementById("file");
  const digest = document.getElementById("digest");
  const status = document.getElementById("hashing");
  if (!file || !digest) return;
  file.closest(".js-only").hidden = false;
  file.addEventListener("change", async () => {
    const f = file.files[0];
    if (!f) return;
    if (!window.crypto || !crypto.subtle) {
      status.textContent = "this browser hashes files only over HTTPS or on localhost: use sha256sum";
      return;
    }
    status.textContent = "hashing " + f.name + "…";
    const sum = new Uint8Array(await crypto.subtle.digest("SHA-256", await f.arrayBuffer()));
    digest.value = "sha256:" + Array.from(sum, (b) => b.toString(16).padStart(2, "0")).join("");
    status.textContent = "";
    digest.form.submit();
  });
});
