// The dashboard's only script, an enhancement: a Copy button beside a new API key. Every page works without it.
document.querySelectorAll("button.copy[data-copy]").forEach((button) => {
  const target = document.getElementById(button.dataset.copy);
  if (!target || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", () => navigator.clipboard.writeText(target.value));
});
