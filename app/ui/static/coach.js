() => {
  // Ctrl+Enter (Cmd+Enter on a Mac) in an answer box presses that box's send button.
  const SEND = { "answer-box": "send-answer", "fb-answer": "fb-go" };
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    const box = event.target.closest && event.target.closest("#answer-box, #fb-answer");
    if (!box) return;
    const button = document.getElementById(SEND[box.id]);
    if (!button) return;
    event.preventDefault();
    event.stopPropagation();
    button.click();
  }, true);
}
