"""Prompt templates as typed, versioned data: `prompts/*.yaml`, rendered strictly with Jinja2."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Literal

import jinja2
import yaml
from jinja2 import meta
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.config import PROJECT_ROOT
from app.errors import CorpusError, NotFoundError

PROMPTS_DIR = PROJECT_ROOT / "prompts"
_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)
_TAG = re.compile(r"</?\s*(candidate_answer|reference_answer|data)\b[^>]*>", re.IGNORECASE)


def as_data(text: object, tag: str = "data") -> str:
    """User text fenced as data: our delimiter tags inside it are neutralised."""
    body = _TAG.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›"), str(text))
    return f"<{tag}>\n{body}\n</{tag}>"


_ENV.filters["data"] = as_data


class Message(BaseModel):
    model_config = ConfigDict(frozen=True)
    role: Literal["system", "user", "assistant"]
    content: str


class PromptTemplate(BaseModel):
    """One prompt: a versioned id, declared variables, a system and a user template."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    description: str = Field(min_length=10)
    output: Literal["json", "text"]
    variables: list[str]
    system: str = Field(min_length=20)
    user: str = Field(min_length=5)
    # An experimental prompt is used only when named (e.g. `coach eval --prompt-version`), never
    # as its family's default.
    experimental: bool = False

    @field_validator("id")
    @classmethod
    def _versioned(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z_]+(\.[a-z_]+)+\.v\d+", value):
            raise ValueError(f"prompt id {value!r} must look like area.job.vN")
        return value

    @property
    def version(self) -> int:
        return int(self.id.rsplit(".v", 1)[1])

    @cached_property
    def _templates(self) -> tuple[jinja2.Template, jinja2.Template]:
        return _ENV.from_string(self.system), _ENV.from_string(self.user)

    def used_variables(self) -> set[str]:
        names: set[str] = set()
        for source in (self.system, self.user):
            names |= meta.find_undeclared_variables(_ENV.parse(source))
        return names

    def render(self, **variables: object) -> list[Message]:
        """System and user messages; a missing or unexpected variable is an error."""
        missing = set(self.variables) - set(variables)
        extra = set(variables) - set(self.variables)
        if missing or extra:
            raise CorpusError(
                f"prompt {self.id}: missing {sorted(missing) or '-'}, unexpected {sorted(extra) or '-'}"
            )
        system, user = self._templates
        try:
            return [
                Message(role="system", content=system.render(**variables).strip()),
                Message(role="user", content=user.render(**variables).strip()),
            ]
        except jinja2.UndefinedError as err:
            raise CorpusError(f"prompt {self.id}: {err.message}") from None


class PromptLibrary:
    """Every prompt in a folder, by id."""

    def __init__(self, prompts: dict[str, PromptTemplate]) -> None:
        self.prompts = prompts

    def get(self, prompt_id: str) -> PromptTemplate:
        try:
            return self.prompts[prompt_id]
        except KeyError:
            raise NotFoundError(f"no prompt with id {prompt_id!r}") from None

    def latest(self, family: str) -> PromptTemplate:
        """The highest version of e.g. 'scorer.judge' that is not experimental."""
        versions = [
            p for p in self.prompts.values() if p.id.rsplit(".v", 1)[0] == family and not p.experimental
        ]
        if not versions:
            raise NotFoundError(f"no prompt in family {family!r}")
        return max(versions, key=lambda p: p.version)


def load_prompt_file(path: Path) -> PromptTemplate:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        prompt = PromptTemplate.model_validate(data)
    except (yaml.YAMLError, ValidationError) as err:
        raise CorpusError(f"{path}: invalid prompt: {err}") from None
    used, declared = prompt.used_variables(), set(prompt.variables)
    if used != declared:
        raise CorpusError(f"{path}: variables declared {sorted(declared)} but templates use {sorted(used)}")
    if path.stem != prompt.id:
        raise CorpusError(f"{path}: file name must be the prompt id ({prompt.id}.yaml)")
    return prompt


def load_prompts(folder: Path = PROMPTS_DIR) -> PromptLibrary:
    """All prompts under folder, validated."""
    prompts = {}
    for path in sorted(folder.glob("*.yaml")):
        prompt = load_prompt_file(path)
        prompts[prompt.id] = prompt
    return PromptLibrary(prompts)
