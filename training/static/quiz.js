// The quiz page, enhanced: "n of N answered" as the learner goes, the answers kept in this tab's
// sessionStorage through a reload, and on a narrow screen one question at a time with Previous and Next.
// Without JavaScript the page is one form with every question; the server grades the same form either way.
(function () {
  "use strict";
  var form = document.querySelector("form.quiz[data-attempt]");
  if (!form) {
    return;
  }
  var questions = Array.prototype.slice.call(form.querySelectorAll("section.question"));
  var progress = document.getElementById("quiz-progress");
  var submit = form.querySelector(".quiz-submit");
  var storageKey = "quiz-answers-" + form.getAttribute("data-attempt");
  var narrow = window.matchMedia("(max-width: 40rem)");
  var steps = null;
  var current = 0;

  function inputsOf(question) {
    return Array.prototype.slice.call(question.querySelectorAll("input[name^='q-']"));
  }

  function isAnswered(question) {
    return inputsOf(question).some(function (input) {
      return input.checked;
    });
  }

  function readSaved() {
    try {
      return JSON.parse(window.sessionStorage.getItem(storageKey)) || {};
    } catch (error) {
      return {};
    }
  }

  function save() {
    var answers = {};
    questions.forEach(function (question) {
      inputsOf(question).forEach(function (input) {
        if (input.checked) {
          (answers[input.name] = answers[input.name] || []).push(input.value);
        }
      });
    });
    try {
      window.sessionStorage.setItem(storageKey, JSON.stringify(answers));
    } catch (error) {
      // Storage full or refused (private mode): the answers are still in the form.
    }
  }

  // A question the page already shows answered (the server sent the form back) keeps that answer.
  function restore() {
    var answers = readSaved();
    questions.forEach(function (question) {
      if (isAnswered(question)) {
        return;
      }
      inputsOf(question).forEach(function (input) {
        var chosen = answers[input.name];
        input.checked = Array.isArray(chosen) && chosen.indexOf(input.value) !== -1;
      });
    });
  }

  function showProgress() {
    var done = questions.filter(isAnswered).length;
    progress.textContent = done + " of " + questions.length + " answered";
    progress.hidden = false;
  }

  function makeButton(text, className, onClick) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = className;
    button.textContent = text;
    button.addEventListener("click", onClick);
    return button;
  }

  function makeSteps() {
    var box = document.createElement("div");
    box.className = "quiz-steps actions";
    box.previous = makeButton("Previous question", "button", function () {
      show(current - 1, true);
    });
    box.next = makeButton("Next question", "button primary", function () {
      show(current + 1, true);
    });
    box.appendChild(box.previous);
    box.appendChild(box.next);
    form.insertBefore(box, submit);
    return box;
  }

  // One question on screen; the focus moves to its heading, so that the situation is read first, and
  // the question's top comes to the top of the screen (below the progress), not halfway down it.
  function show(index, moveFocus) {
    current = Math.max(0, Math.min(index, questions.length - 1));
    questions.forEach(function (question, i) {
      question.hidden = i !== current;
    });
    var last = current === questions.length - 1;
    steps.previous.hidden = current === 0;
    steps.next.hidden = last;
    submit.hidden = !last;
    if (moveFocus) {
      questions[current].querySelector(".q-number").focus({ preventScroll: true });
      questions[current].scrollIntoView({ block: "start" });
    }
  }

  function firstToShow() {
    var marked = questions.findIndex(function (question) {
      return question.classList.contains("has-error");
    });
    var open = questions.findIndex(function (question) {
      return !isAnswered(question);
    });
    return marked !== -1 ? marked : open !== -1 ? open : questions.length - 1;
  }

  function layout() {
    if (narrow.matches) {
      steps = steps || makeSteps();
      steps.hidden = false;
      form.classList.add("one-at-a-time");
      show(current, false);
      return;
    }
    form.classList.remove("one-at-a-time");
    questions.forEach(function (question) {
      question.hidden = false;
    });
    submit.hidden = false;
    if (steps) {
      steps.hidden = true;
    }
  }

  function questionIndexOf(element) {
    return questions.findIndex(function (question) {
      return question.contains(element);
    });
  }

  restore();
  showProgress();
  current = firstToShow();
  layout();
  narrow.addEventListener("change", layout);

  form.addEventListener("change", function () {
    save();
    showProgress();
  });

  // Enter on an answer moves on to the next question instead of sending a half-answered form.
  form.addEventListener("keydown", function (event) {
    var onAnswer = event.target.matches && event.target.matches("input[name^='q-']");
    if (event.key === "Enter" && onAnswer && form.classList.contains("one-at-a-time") && !steps.next.hidden) {
      event.preventDefault();
      show(current + 1, true);
    }
  });

  // A link to an answer (the error summary's) first shows the question it is in.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[href^='#q-']");
    var target = link && document.getElementById(link.getAttribute("href").slice(1));
    if (target && steps && form.classList.contains("one-at-a-time")) {
      show(questionIndexOf(target), false);
    }
  });

  form.addEventListener("submit", function () {
    try {
      window.sessionStorage.removeItem(storageKey);
    } catch (error) {
      // Nothing kept, nothing to forget.
    }
  });
})();
