// Checks extends, super() constructor calls, super.method() calls, overriding and multi-level chains.
class Animal {
  constructor(protected name: string) {}
  speak(): string {
    return this.name + " makes a sound";
  }
  describe(): string {
    return "[" + this.speak() + "]";
  }
}

class Dog extends Animal {
  constructor(name: string, private tricks: number) {
    super(name);
  }
  override speak(): string {
    return super.speak() + ", then barks";
  }
  trickCount(): number {
    return this.tricks;
  }
}

class Puppy extends Dog {
  constructor(name: string) {
    super(name + " jr", 1);
  }
  override speak(): string {
    return super.speak() + " softly";
  }
}

const animal = new Animal("cat");
const dog = new Dog("rex", 3);
const puppy = new Puppy("rex");
console.log(animal.describe());
console.log(dog.describe());
console.log(puppy.describe());
console.log("tricks " + dog.trickCount() + " " + puppy.trickCount());
console.log("puppy is Dog " + (puppy instanceof Dog) + ", is Animal " + (puppy instanceof Animal));
console.log("dog is Puppy " + (dog instanceof Puppy));

// Polymorphic dispatch through a base-typed array.
const all: Animal[] = [animal, dog, puppy];
let lengths = "";
for (let i = 0; i < all.length; i++) lengths += (i ? "," : "") + all[i].speak().length;
console.log("lengths " + lengths);
