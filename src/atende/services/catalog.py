"""The service catalog tree (categories and items) that the phone menus are read from.

Every method hands back plain values (:class:`CategoryView` with its items, :class:`ItemView`)
read inside its session: the phone, the API and the dashboard never hold an ORM row. The tree
that every call reads is cached; every change publishes the ``catalog`` topic (see
:mod:`atende.services.cache`), so the next call hears it in every process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from atende.db.models import Category, Item, Ticket
from atende.domain.digits import ASCII_DIGITS
from atende.runtime import Runtime
from atende.services.errors import Conflict, Invalid, NotFound

Entry = TypeVar("Entry", Category, Item)

# 7 repeats the category menu, 9 the main menu, 0 reaches a person: never catalog keys.
RESERVED_KEYS = frozenset({"0", "7", "9", "*", "#"})
ITEM_RESERVED_KEYS = frozenset({"0", "9", "*", "#"})
PARKING_KEY = "#"  # never a menu key (see above): a key held for a moment during a swap
TOPIC = "catalog"


@dataclass(frozen=True)
class ItemView:
    """A service of a category: ``prompt`` is heard in the menu, ``name`` written."""

    id: int
    key: str
    name: str
    prompt: str

    @classmethod
    def of(cls, item: Item) -> ItemView:
        return cls(item.id, item.key, item.name, item.prompt)


@dataclass(frozen=True)
class CategoryView:
    """A category of the catalog with its items, in key order."""

    id: int
    key: str
    name: str
    prompt: str
    items: tuple[ItemView, ...]

    @classmethod
    def of(cls, category: Category) -> CategoryView:
        items = tuple(ItemView.of(item) for item in category.items)
        return cls(category.id, category.key, category.name, category.prompt, items)


def _check_key(key: str, reserved: frozenset[str]) -> None:
    if key not in ASCII_DIGITS or key in reserved:
        allowed = ", ".join(k for k in "123456789" if k not in reserved)
        raise Invalid(f"key must be one keypad digit among {allowed}", field="key")


class CatalogService:
    def __init__(self, runtime: Runtime) -> None:
        self.sessions = runtime.sessions
        self.reads = runtime.reads  # the cached lookups: no write gate on SQLite
        self.changes = runtime.changes
        self._tree = runtime.changes.cache(TOPIC, self._load_tree)

    def tree(self) -> list[CategoryView]:
        return list(self._tree.get(None))

    def _load_tree(self, _key: None) -> tuple[CategoryView, ...]:
        with self.reads() as session:
            query = select(Category).order_by(Category.key)
            return tuple(CategoryView.of(category) for category in session.scalars(query))

    def category(self, category_id: int) -> CategoryView:
        with self.sessions() as session:
            return CategoryView.of(self._category(session, category_id))

    def item(self, item_id: int) -> ItemView:
        with self.sessions() as session:
            return ItemView.of(self._item(session, item_id))

    def _category(self, session: Session, category_id: int) -> Category:
        category = session.get(Category, category_id)
        if category is None:
            raise NotFound(f"no category {category_id}", field="category_id")
        return category

    def _item(self, session: Session, item_id: int) -> Item:
        item = session.get(Item, item_id)
        if item is None:
            raise NotFound(f"no catalog item {item_id}", field="item_id")
        return item

    def _flush(self, session: Session) -> None:
        try:
            session.flush()
        except IntegrityError:
            # The transaction is lost with the failed flush; the caller's ``begin()`` rolls back.
            raise Conflict("this key is already used at this level", field="key") from None

    def _insert(self, session: Session, entry: Entry) -> Entry:
        session.add(entry)
        self._flush(session)
        session.refresh(entry)
        return entry

    def _edit(self, session: Session, entry: Category | Item, **values: str | None) -> None:
        for attr, value in values.items():
            if value is not None:
                setattr(entry, attr, value)
        self._flush(session)

    def add_category(self, key: str, name: str, prompt: str | None = None) -> CategoryView:
        _check_key(key, RESERVED_KEYS)
        with self.changes.transaction(TOPIC) as session:
            category = Category(key=key, name=name, prompt=prompt or name)
            return CategoryView.of(self._insert(session, category))

    def update_category(
        self, category_id: int, *, key: str | None, name: str | None, prompt: str | None
    ) -> CategoryView:
        if key is not None:
            _check_key(key, RESERVED_KEYS)
        with self.changes.transaction(TOPIC) as session:
            category = self._category(session, category_id)
            self._edit(session, category, key=key, name=name, prompt=prompt)
            return CategoryView.of(category)

    def move_category(self, category_id: int, key: str) -> CategoryView:
        """Give a category the menu key ``key``; the category holding it takes the old key (the
        dashboard's reordering). Both change in one transaction: the next call hears both."""
        _check_key(key, RESERVED_KEYS)
        with self.changes.transaction(TOPIC) as session:
            category = self._category(session, category_id)
            holder = session.scalar(select(Category).where(Category.key == key))
            self._swap_keys(session, category, holder, key)
            return CategoryView.of(category)

    def move_item(self, item_id: int, key: str) -> ItemView:
        """Give an item the key ``key`` in its category, swapping with the item holding it."""
        _check_key(key, ITEM_RESERVED_KEYS)
        with self.changes.transaction(TOPIC) as session:
            item = self._item(session, item_id)
            holder = session.scalar(
                select(Item).where(Item.category_id == item.category_id, Item.key == key)
            )
            self._swap_keys(session, item, holder, key)
            return ItemView.of(item)

    def _swap_keys(self, session: Session, entry: Entry, holder: Entry | None, key: str) -> None:
        old_key = entry.key
        if holder is not None and holder.id != entry.id:
            # The unique key would clash mid-swap: park the holder on a key no menu uses.
            holder.key = PARKING_KEY
            self._flush(session)
            entry.key = key
            self._flush(session)
            holder.key = old_key
        else:
            entry.key = key
        self._flush(session)

    def delete_category(self, category_id: int) -> None:
        with self.changes.transaction(TOPIC) as session:
            category = self._category(session, category_id)
            if category.items:
                raise Conflict("remove the category's items first", field="category_id")
            session.delete(category)

    def add_item(
        self, category_id: int, key: str, name: str, prompt: str | None = None
    ) -> ItemView:
        _check_key(key, ITEM_RESERVED_KEYS)
        with self.changes.transaction(TOPIC) as session:
            self._category(session, category_id)
            item = Item(category_id=category_id, key=key, name=name, prompt=prompt or name)
            return ItemView.of(self._insert(session, item))

    def update_item(
        self, item_id: int, *, key: str | None, name: str | None, prompt: str | None
    ) -> ItemView:
        if key is not None:
            _check_key(key, ITEM_RESERVED_KEYS)
        with self.changes.transaction(TOPIC) as session:
            item = self._item(session, item_id)
            self._edit(session, item, key=key, name=name, prompt=prompt)
            return ItemView.of(item)

    def delete_item(self, item_id: int) -> None:
        with self.changes.transaction(TOPIC) as session:
            item = self._item(session, item_id)
            used = session.scalar(select(func.count()).where(Ticket.item_id == item_id))
            if used:
                raise Conflict("tickets point to this item; rename it instead", field="item_id")
            session.delete(item)
