"use strict";

document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("login-error");
  const button = document.getElementById("login-submit");
  error.textContent = "";
  button.disabled = true;
  try {
    const response = await fetch("/api/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        email: document.getElementById("email").value,
        password: document.getElementById("password").value,
      }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      error.textContent = body.error || `Sign-in failed (HTTP ${response.status})`;
      return;
    }
    sessionStorage.setItem("rca.token", body.token);
    sessionStorage.setItem("rca.user", JSON.stringify(body.user));
    location.assign("/dashboard");
  } catch (failure) {
    error.textContent = "The server cannot be reached; check your connection and try again.";
  } finally {
    button.disabled = false;
  }
});
